// The installed cpp-httplib adapter installed on a server: it builds and
// links against Debian's libcpp-httplib, and decides as the engine does.

#include <corsd/adapters/httplib.hpp>
#include <iostream>
#include <memory>

int main() {
  const auto policy = std::make_shared<const corsd::cors::Policy>(corsd::cors::Policy::seed());
  httplib::Server server;
  corsd::adapters::httplib::install(server, policy);
  httplib::Request req;
  req.method = "OPTIONS";
  req.headers.emplace("Origin", "http://localhost:8081");
  req.headers.emplace("Access-Control-Request-Method", "PUT");
  const auto d = corsd::adapters::httplib::decide(*policy, req);  // views into *policy and req
  std::cout << corsd::cors::kind_name(d.kind) << '\n';
  return d.kind == corsd::cors::DecisionKind::preflight_accepted ? 0 : 1;
}
