// The gateway's Site snapshot, replaced while the server runs: new requests
// get the new policy at once, an exchange in flight keeps the one it started
// with. In-process server on loopback, raw sockets.

#include "corsd/app/gateway.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "corsd/testing/loopback.hpp"

namespace corsd::app {
namespace {

using namespace std::chrono_literals;

cors::Policy allowing(const std::string& origin) {
  cors::PolicySpec spec;
  spec.allow_origins = {origin};
  return std::get<cors::Policy>(cors::Policy::create(spec));
}

// One route "/" allowing `origin`, answered by the echo API or `upstream`.
std::shared_ptr<const Site> site_allowing(const std::string& origin, std::uint16_t upstream_port = 0) {
  Site site;
  std::vector<cors::Route> routes;
  routes.push_back({"/", allowing(origin), 0});
  site.routes = std::get<cors::RouteTable>(cors::RouteTable::create(std::move(routes)));
  if (upstream_port != 0) {
    auto upstream =
        std::get<proxy::Upstream>(proxy::parse_upstream("http://127.0.0.1:" + std::to_string(upstream_port)));
    proxy::resolve(upstream);
    site.targets[0].upstream = std::move(upstream);
  }
  return std::make_shared<const Site>(std::move(site));
}

std::string get(std::uint16_t port, const std::string& origin) {
  const int fd = testing::connect_loopback(port);
  testing::send_all(fd, "GET /x HTTP/1.1\r\nHost: t\r\nOrigin: " + origin + "\r\nConnection: close\r\n\r\n");
  std::string answer = testing::read_until(fd, "\r\n\r\nno such marker");
  ::close(fd);
  return answer;
}

bool allows(const std::string& answer, const std::string& origin) {
  return answer.find("Access-Control-Allow-Origin: " + origin + "\r\n") != std::string::npos;
}

class RunningServer {
 public:
  explicit RunningServer(Gateways& gateways) : server_({http::Limits{}, 2}) {
    listening_ = server_.listen("127.0.0.1", 0, gateways.factory());
    thread_ = std::thread([this] { server_.run(); });
  }
  ~RunningServer() {
    server_.stop();
    thread_.join();
  }
  http::Server& server() { return server_; }
  std::uint16_t port() const { return listening_.port; }

 private:
  http::Server server_;
  http::Listening listening_;
  std::thread thread_;
};

TEST(GatewaysTest, APublishedSiteServesTheNextRequests) {
  Gateways gateways(site_allowing("https://a.example"));
  RunningServer running(gateways);
  EXPECT_TRUE(allows(get(running.port(), "https://a.example"), "https://a.example"));
  gateways.publish(running.server(), site_allowing("https://b.example"));
  // Publishing posts to each worker; both workers take it within moments.
  bool switched = false;
  for (int i = 0; i < 100 && !switched; ++i) {
    switched = allows(get(running.port(), "https://b.example"), "https://b.example") &&
               allows(get(running.port(), "https://b.example"), "https://b.example");
    if (!switched) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(switched);
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(allows(get(running.port(), "https://a.example"), "https://a.example"));
}

TEST(GatewaysTest, AnExchangeInFlightKeepsTheSiteItStartedWith) {
  std::uint16_t upstream_port = 0;
  const int upstream = testing::listen_loopback(upstream_port);
  ASSERT_GE(upstream, 0);
  Gateways gateways(site_allowing("https://a.example", upstream_port));
  RunningServer running(gateways);

  auto answer = std::async(std::launch::async, [&] { return get(running.port(), "https://a.example"); });
  // The upstream holds its answer until the new Site is out.
  const int exchange = ::accept(upstream, nullptr, nullptr);
  ASSERT_GE(exchange, 0);
  testing::read_until(exchange, "\r\n\r\n");
  gateways.publish(running.server(), site_allowing("https://b.example", upstream_port));
  std::this_thread::sleep_for(100ms);
  testing::send_all(exchange, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  const std::string first = answer.get();
  EXPECT_TRUE(allows(first, "https://a.example")) << first;
  ::close(exchange);
  ::close(upstream);
}

}  // namespace
}  // namespace corsd::app
