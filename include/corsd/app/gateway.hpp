#pragma once
// File: corsd/app/gateway.hpp
//
// The API origin's handler, one per worker: matches the normalized path to
// a route of the current Site, puts the route's CORS stage in front, and
// serves the request from the built-in applications (buffered, from
// memory) or from the route's upstream (streamed through the proxy). A path
// no route covers reaches the built-in applications without CORS handling.

#include <memory>

#include "corsd/app/echo_api.hpp"
#include "corsd/app/session_api.hpp"
#include "corsd/app/site.hpp"
#include "corsd/http/cors_stage.hpp"
#include "corsd/http/handler.hpp"
#include "corsd/proxy/proxy.hpp"

namespace corsd::app {

class Gateway final : public http::Handler {
 public:
  Gateway(http::WorkerContext& worker, std::shared_ptr<const Site> site, http::RejectionSink on_rejection = {});

  // replace()
  //
  // Serves new requests from `site`; exchanges in flight keep theirs. On
  // the worker's thread (see http::Server::on_each_worker()).
  void replace(std::shared_ptr<const Site> site) noexcept { site_ = std::move(site); }

  bool streams(const http::Request& head) override;
  void handle(const http::Request& request, http::Response& response) override;
  boost::asio::awaitable<void> stream(http::Exchange& exchange) override;

 private:
  std::shared_ptr<const Site> site_;
  http::CorsStage cors_;
  EchoApi echo_;
  SessionApi session_{echo_};
  proxy::Proxy proxy_;
};

// gateway_factory()
//
// Makes one Gateway per worker, all starting from `site`.
http::HandlerFactory gateway_factory(std::shared_ptr<const Site> site, http::RejectionSink on_rejection = {});

}  // namespace corsd::app
