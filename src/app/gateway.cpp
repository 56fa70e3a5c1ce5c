#include "corsd/app/gateway.hpp"

namespace corsd::app {
namespace {

constexpr std::string_view kSiteChanged =
    "service unavailable: the configuration changed while this request arrived; send it again\n";

}  // namespace

Gateway::Gateway(http::WorkerContext& worker, std::shared_ptr<const Site> site, http::RejectionSink on_rejection)
    : cors_(std::move(on_rejection)), proxy_(worker) {
  replace(std::move(site));
}

void Gateway::replace(std::shared_ptr<const Site> site) {
  cors_.forget_answers();  // they name the old site's routes
  site_ = std::move(site);
  stats_by_route_id_.clear();
  for (const auto& route : site_->routes.routes()) {
    if (route.id >= stats_by_route_id_.size()) stats_by_route_id_.resize(route.id + 1, nullptr);
    stats_by_route_id_[route.id] = &route_stats_.slot(route.prefix);
  }
}

bool Gateway::streams(const http::Request& head) {
  const cors::Route* route = site_->routes.match(head.path);
  if (route == nullptr || !site_->target(*route).upstream) return false;
  // corsd answers preflights itself, from memory: they reach the upstream
  // only when accepted on a route that passes them through.
  if (!http::looks_like_preflight(head)) return true;
  return route->policy.spec().preflight_passthrough &&
         !http::CorsStage::answers_itself(*route, cors_.decide(*route, head, /*report=*/false));
}

void Gateway::handle(const http::Request& request, http::Response& response) {
  const cors::Route* route = site_->routes.match(request.path);
  if (route == nullptr) {
    session_.handle(request, response);
    return;
  }
  cors::Decision decision;
  const bool answered = cors_.answer_buffered(*route, request, response, decision);
  stats_of(*route).count(decision);
  if (answered) return;
  response.use_cors(&decision);
  if (site_->target(*route).upstream) {
    // Only when a new Site routed this path to an upstream after its head
    // was read as a buffered request.
    response.set_status(503);
    response.add("Retry-After", "0");
    response.add("Content-Type", "text/plain; charset=utf-8");
    response.send(kSiteChanged);
    return;
  }
  session_.handle(request, response);
}

boost::asio::awaitable<void> Gateway::stream(http::Exchange& exchange) {
  const std::shared_ptr<const Site> site = site_;  // pinned for the whole exchange
  const http::Request& request = exchange.request();
  const cors::Route* route = site->routes.match(request.path);
  if (route == nullptr || !site->target(*route).upstream) co_return;  // streams() said otherwise: 500
  const cors::Decision decision = cors_.decide(*route, request);
  exchange.note().set_cors(decision);
  stats_of(*route).count(decision);  // before any suspension: stats_by_route_id_ is still `site`'s
  co_await proxy_.forward(exchange, *site->target(*route).upstream, site->proxy, decision);
}

bool Gateway::cors_for_error(const http::Request& head, cors::Decision& out) {
  const cors::Route* route = site_->routes.match(head.path);
  if (route == nullptr) return false;
  out = cors_.decide(*route, head, /*report=*/false);
  // A preflight carries no body to be at fault: its own answer says more.
  return out.kind != cors::DecisionKind::preflight_accepted && out.kind != cors::DecisionKind::preflight_rejected;
}

http::HandlerFactory Gateways::factory() {
  return [this](http::WorkerContext& worker) {
    http::RejectionSink sink;
    if (on_rejection_) {
      sink = [sink = on_rejection_, index = worker.index()](std::string_view line) { sink(index, line); };
    }
    auto gateway = std::make_unique<Gateway>(worker, site_, std::move(sink));
    if (by_worker_.size() <= worker.index()) by_worker_.resize(worker.index() + 1);
    by_worker_[worker.index()].push_back(gateway.get());
    return gateway;
  };
}

void Gateways::publish(http::Server& server, std::shared_ptr<const Site> site) {
  site_ = site;
  server.on_each_worker([this, site = std::move(site)](http::WorkerContext& worker) {
    if (worker.index() >= by_worker_.size()) return;
    for (Gateway* gateway : by_worker_[worker.index()]) gateway->replace(site);
  });
}

}  // namespace corsd::app
