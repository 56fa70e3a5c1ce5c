#pragma once
// File: corsd/adapters/httplib.hpp
//
// corsd's policy engine on a cpp-httplib server, header-only: one call
// installs a pre-routing handler that answers preflights from the policy,
// and a post-routing handler that gives every response (the routes', the
// 404s and the error handler's alike, which hand-written CORS often
// forgets) exactly the policy's fields: any Access-Control-* field the
// application set replaced, Vary merged. Link corsd::httplib (corsd::cors
// and Debian's libcpp-httplib).
//
// Example:
//
//   httplib::Server server;
//   corsd::adapters::httplib::install(server, std::move(policy));
//   server.Put("/items/1", handler);
//   server.listen("127.0.0.1", 8080);

#include <httplib.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "corsd/cors/detail/token.hpp"
#include "corsd/cors/host.hpp"
#include "corsd/cors/policy.hpp"
#include "corsd/cors/route_table.hpp"

namespace corsd::adapters::httplib {

// decide()
//
// `policy`'s decision on `req`, gathered in one pass over its headers. The
// decision's views point into `policy` and `req`.
inline cors::Decision decide(const cors::Policy& policy, const ::httplib::Request& req) {
  cors::RequestFields fields;
  for (const auto& [name, value] : req.headers) fields.add(name, value);
  return policy.decide(fields.request(req.method));
}

// apply()
//
// Puts `d` on `res`: its Access-Control-* fields go, the decision's are
// added, the Vary tokens merged into one Vary field.
inline void apply(const cors::Decision& d, ::httplib::Response& res) {
  std::vector<std::string> vary;
  for (auto it = res.headers.begin(); it != res.headers.end();) {
    if (cors::is_access_control_field(it->first)) {
      it = res.headers.erase(it);
    } else if (cors::ascii_iequals(it->first, "vary")) {
      vary.push_back(it->second);
      it = res.headers.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& h : d.headers) res.set_header(std::string(h.name), std::string(h.value));
  const std::vector<std::string_view> lines(vary.begin(), vary.end());
  std::string merged;
  if (cors::append_vary(merged, lines, d.vary)) res.set_header("Vary", merged);
}

namespace detail {

// Serves the policy `policy_for(req)` gives (nullptr: none, no CORS).
template <class PolicyFor>
void install_with(::httplib::Server& server, PolicyFor policy_for) {
  server.set_pre_routing_handler([policy_for](const ::httplib::Request& req, ::httplib::Response& res) {
    const cors::Policy* policy = policy_for(req);
    if (policy == nullptr) return ::httplib::Server::HandlerResponse::Unhandled;
    const cors::Decision d = decide(*policy, req);
    if (!cors::answers_preflight(*policy, d)) return ::httplib::Server::HandlerResponse::Unhandled;
    res.status = static_cast<int>(cors::preflight_status(d));
    if (d.kind == cors::DecisionKind::preflight_rejected) {
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_content(cors::preflight_body(d), "text/plain; charset=utf-8");
    }
    return ::httplib::Server::HandlerResponse::Handled;
  });
  server.set_post_routing_handler([policy_for](const ::httplib::Request& req, ::httplib::Response& res) {
    if (const cors::Policy* policy = policy_for(req)) apply(decide(*policy, req), res);
  });
}

}  // namespace detail

// install()
//
// Serves `policy` on `server`: preflights it answers itself get 204 with
// its fields or 403 with the reason; every response gets its fields.
inline void install(::httplib::Server& server, std::shared_ptr<const cors::Policy> policy) {
  detail::install_with(server, [policy](const ::httplib::Request&) { return policy.get(); });
}

// install()
//
// The same with a policy per path prefix (corsd::config's load_policy_file()
// gives such a table): each request gets the policy of the route matching
// req.path, the path httplib's router matches on; a path no route covers
// gets no CORS handling.
inline void install(::httplib::Server& server, std::shared_ptr<const cors::RouteTable> routes) {
  detail::install_with(server, [routes](const ::httplib::Request& req) {
    const cors::Route* route = routes->match(req.path);
    return route ? &route->policy : nullptr;
  });
}

}  // namespace corsd::adapters::httplib
