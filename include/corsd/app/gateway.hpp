#pragma once
// File: corsd/app/gateway.hpp
//
// The API origin's handler, one per worker: matches the normalized path to
// a route of the current Site, puts the route's CORS stage in front, and
// serves the request from the built-in applications (buffered, from
// memory) or from the route's upstream (streamed through the proxy). A path
// no route covers reaches the built-in applications without CORS handling.

#include <array>
#include <memory>
#include <vector>

#include "corsd/app/echo_api.hpp"
#include "corsd/app/session_api.hpp"
#include "corsd/app/site.hpp"
#include "corsd/http/cors_stage.hpp"
#include "corsd/http/handler.hpp"
#include "corsd/http/server.hpp"
#include "corsd/proxy/proxy.hpp"

namespace corsd::app {

// What the CORS stage decided on one route (by its path prefix), in one
// worker.
struct RouteStats {
  std::array<http::Counter, cors::kDecisionKinds> decisions;   // by cors::DecisionKind
  std::array<http::Counter, cors::kRejectReasons> rejections;  // by cors::RejectReason

  void count(const cors::Decision& d) noexcept {
    decisions[static_cast<std::size_t>(d.kind)].add();
    if (d.why() != cors::RejectReason::none) rejections[static_cast<std::size_t>(d.why())].add();
  }
};
using RouteStatsTable = http::StatsTable<RouteStats>;

// Receives each rejection's debug line, with the index of the worker that
// rejected it (so that a per-worker queue takes it without a lock).
using WorkerRejectionSink = std::function<void(unsigned worker, std::string_view line)>;

class Gateway final : public http::Handler {
 public:
  Gateway(http::WorkerContext& worker, std::shared_ptr<const Site> site, http::RejectionSink on_rejection = {});

  // replace()
  //
  // Serves new requests from `site`; exchanges in flight keep theirs. On
  // the worker's thread (see http::Server::on_each_worker()).
  void replace(std::shared_ptr<const Site> site);

  // The Site new requests get. On the worker's thread.
  const std::shared_ptr<const Site>& site() const noexcept { return site_; }

  // This worker's counters, for a scrape from any thread.
  const RouteStatsTable& route_stats() const noexcept { return route_stats_; }
  const proxy::UpstreamStatsTable& upstream_stats() const noexcept { return proxy_.stats(); }

  bool streams(const http::Request& head) override;
  void handle(const http::Request& request, http::Response& response) override;
  boost::asio::awaitable<void> stream(http::Exchange& exchange) override;
  bool cors_for_error(const http::Request& head, cors::Decision& out) override;

 private:
  RouteStats& stats_of(const cors::Route& route) noexcept { return *stats_by_route_id_[route.id]; }

  std::shared_ptr<const Site> site_;
  RouteStatsTable route_stats_;
  std::vector<RouteStats*> stats_by_route_id_;  // of site_'s routes
  http::CorsStage cors_;
  EchoApi echo_;
  SessionApi session_{echo_};
  proxy::Proxy proxy_;
};

// Gateways
//
// Every worker's Gateway and the Site they serve: makes them (as the
// server's handler factory) and publishes a new Site to all of them, each on
// its own worker's thread. Must outlive the server.
class Gateways {
 public:
  explicit Gateways(std::shared_ptr<const Site> site, WorkerRejectionSink on_rejection = {})
      : site_(std::move(site)), on_rejection_(std::move(on_rejection)) {}
  Gateways(const Gateways&) = delete;
  Gateways& operator=(const Gateways&) = delete;

  // factory()
  //
  // Makes each worker's Gateway, serving the current Site, and keeps track
  // of it. Use before the server runs.
  http::HandlerFactory factory();

  // publish()
  //
  // Requests that start after `site` reaches a worker are served from it;
  // exchanges in flight finish with the Site they started with.
  void publish(http::Server& server, std::shared_ptr<const Site> site);

  // Every worker's gateways, by worker index: for a scrape (their stats)
  // and for the admin endpoints on each worker.
  const std::vector<std::vector<Gateway*>>& by_worker() const noexcept { return by_worker_; }

 private:
  std::shared_ptr<const Site> site_;
  WorkerRejectionSink on_rejection_;
  std::vector<std::vector<Gateway*>> by_worker_;  // filled before the server runs, read on each worker
};

}  // namespace corsd::app
