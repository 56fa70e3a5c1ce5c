#pragma once
// File: corsd/adapters/beast.hpp
//
// corsd's policy engine on Boost.Beast's messages, header-only: decide a
// request's CORS, answer a preflight, and put the policy's fields on any
// response (every Access-Control-* field already there replaced, Vary
// merged). Link corsd::beast (corsd::cors and Boost's headers).
//
// Example, in a handler:
//
//   const corsd::cors::Decision d = corsd::adapters::beast::decide(policy, req);
//   if (corsd::cors::answers_preflight(policy, d))
//     return send(corsd::adapters::beast::preflight_response(d, req.version(), req.keep_alive()));
//   auto res = app(req);                        // the application's own answer
//   corsd::adapters::beast::apply(d, res);      // exactly the policy's CORS on it
//   return send(std::move(res));

#include <boost/beast/http.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "corsd/cors/host.hpp"
#include "corsd/cors/policy.hpp"
#include "corsd/cors/route_table.hpp"

namespace corsd::adapters::beast {

namespace http = boost::beast::http;

inline std::string_view view(boost::core::string_view s) noexcept { return {s.data(), s.size()}; }

// decide()
//
// `policy`'s decision on `req`, gathered in one pass over its fields. The
// decision's views point into `policy` and `req`.
template <class Body, class Fields>
cors::Decision decide(const cors::Policy& policy, const http::request<Body, Fields>& req) {
  cors::RequestFields fields;
  for (const auto& field : req) fields.add(view(field.name_string()), view(field.value()));
  return policy.decide(fields.request(view(req.method_string())));
}

// policy_for()
//
// The policy of the route in `routes` (corsd::config's load_policy_file()
// gives such a table) that matches the path of `req`'s target, the query
// left out; nullptr when no route covers it (no CORS handling). Match on
// the path your own router serves, normalized the same way.
template <class Body, class Fields>
const cors::Policy* policy_for(const cors::RouteTable& routes, const http::request<Body, Fields>& req) {
  const std::string_view target = view(req.target());
  const cors::Route* route = routes.match(target.substr(0, target.find('?')));
  return route ? &route->policy : nullptr;
}

// apply()
//
// Puts `d` on `res`: every Access-Control-* field `res` has goes, the
// decision's are added, and its Vary tokens merged into one Vary field.
template <class Body, class Fields>
void apply(const cors::Decision& d, http::response<Body, Fields>& res) {
  std::vector<std::string> vary;  // copies: erasing the fields frees their text
  for (auto it = res.begin(); it != res.end();) {
    const std::string_view name = view(it->name_string());
    if (cors::is_access_control_field(name)) {
      it = res.erase(it);
    } else {
      if (it->name() == http::field::vary) vary.emplace_back(view(it->value()));
      ++it;
    }
  }
  for (const auto& h : d.headers) res.insert(h.name, h.value);
  const std::vector<std::string_view> lines(vary.begin(), vary.end());
  std::string merged;
  if (cors::append_vary(merged, lines, d.vary)) res.set(http::field::vary, merged);
}

// preflight_response()
//
// The answer to a preflight the policy answers itself: 204 with the
// policy's fields, or 403 naming the reason in a text/plain body.
inline http::response<http::string_body> preflight_response(const cors::Decision& d, unsigned version,
                                                            bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(cors::preflight_status(d)), version};
  apply(d, res);
  if (d.kind == cors::DecisionKind::preflight_rejected) {
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.set("X-Content-Type-Options", "nosniff");
    res.body() = cors::preflight_body(d);
    res.prepare_payload();
  }
  res.keep_alive(keep_alive);
  return res;
}

}  // namespace corsd::adapters::beast
