#include "corsd/app/admin.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <set>

namespace corsd::app {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
// How long /readyz waits for an upstream to accept a connection: below
// HAProxy's and Kubernetes's default check timeouts.
constexpr std::chrono::milliseconds kUpstreamCheckTimeout{1000};

void answer_text(http::Response& response, unsigned status, std::string_view body) {
  response.set_status(status);
  response.add("Content-Type", "text/plain; charset=utf-8");
  response.add("Cache-Control", "no-store");
  response.send(body);
}

// Whether one of `upstream`'s addresses accepts a TCP connection in time:
// "" or what went wrong.
net::awaitable<std::string> check_upstream(net::io_context& io, const proxy::Upstream& upstream) {
  using namespace net::experimental::awaitable_operators;
  tcp::socket socket(io);
  net::steady_timer timer(io, kUpstreamCheckTimeout);
  // Whichever ends first cancels the other.
  auto result =
      co_await (net::async_connect(socket, proxy::endpoints_of(upstream), use_tuple) || timer.async_wait(use_tuple));
  if (result.index() == 1) co_return "did not accept a connection within 1 s";
  const auto& [ec, endpoint] = std::get<0>(result);
  co_return ec ? ec.message() : "";
}

class AdminHandler final : public http::Handler {
 public:
  AdminHandler(http::WorkerContext& worker, const MetricsSources& sources) : worker_(worker), sources_(sources) {}

  bool streams(const http::Request& head) override { return head.path == "/readyz" && is_read(head); }

  void handle(const http::Request& request, http::Response& response) override {
    if (!is_read(request)) {
      response.add("Allow", "GET, HEAD");
      return answer_text(response, 405, "method not allowed: the admin endpoints answer GET and HEAD\n");
    }
    if (request.path == "/metrics") {
      response.set_status(200);
      response.add("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      response.add("Cache-Control", "no-store");
      return response.send(render_metrics(sources_));
    }
    if (request.path == "/livez") return answer_text(response, 200, "ok\n");
    answer_text(response, 404, "not found: the admin endpoints are /metrics, /livez and /readyz\n");
  }

  net::awaitable<void> stream(http::Exchange& exchange) override {
    const bool verbose = exchange.request().query.find("verbose") != std::string_view::npos;
    std::string report;
    bool ready = true;
    const auto check = [&](std::string_view name, const std::string& problem) {
      ready = ready && problem.empty();
      report.append(problem.empty() ? "[+] " : "[-] ").append(name);
      if (!problem.empty()) report.append(": ").append(problem);
      report.push_back('\n');
    };
    check("config loaded", "");
    check("listeners bound", "");
    check("not draining", worker_.draining() ? "shutting down" : "");
    const std::shared_ptr<const Site> site = current_site();  // pinned: the checks take time
    std::set<std::string_view> seen;
    const std::size_t targets = site ? site->targets.size() : 0;
    for (std::size_t i = 0; i < targets; ++i) {
      const auto& upstream = site->targets[i].upstream;
      if (!upstream || !seen.insert(upstream->url).second) continue;
      std::string problem = co_await check_upstream(worker_.io(), *upstream);
      check("upstream " + upstream->url, problem);
    }
    std::string body = ready ? "ready\n" : "not ready\n";
    if (verbose || !ready) body += report;
    http::ResponseHead head;
    head.status = ready ? 200 : 503;
    head.add("Content-Type", "text/plain; charset=utf-8");
    head.add("Cache-Control", "no-store");
    if (!exchange.send_head(head, {http::Framing::Kind::length, body.size()})) co_return;
    const std::string_view slice = body;
    co_await exchange.send_last(std::span<const std::string_view>(&slice, 1));
  }

 private:
  static bool is_read(const http::Request& r) noexcept { return r.method == "GET" || r.method == "HEAD"; }

  // The Site this worker's API gateway serves new requests from.
  std::shared_ptr<const Site> current_site() const {
    const auto& gateways = sources_.gateways.by_worker();
    if (worker_.index() >= gateways.size() || gateways[worker_.index()].empty()) return nullptr;
    return gateways[worker_.index()].front()->site();
  }

  http::WorkerContext& worker_;
  const MetricsSources& sources_;
};

}  // namespace

http::HandlerFactory admin_handlers(const MetricsSources& sources) {
  return [&sources](http::WorkerContext& worker) { return std::make_unique<AdminHandler>(worker, sources); };
}

}  // namespace corsd::app
