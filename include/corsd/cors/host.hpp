#pragma once
// File: corsd/cors/host.hpp
//
// What a server needs around Policy::decide() to serve CORS, whatever its
// HTTP library: the request's CORS fields collected in one pass over its
// headers, the policy's fields put on a response in place of any others,
// Vary merged, and the preflight's answer. Allocation-free but for
// merge_vary()'s output. corsd's own server and the adapters use these.
//
// Example (any host):
//
//   corsd::cors::RequestFields fields;
//   for (const auto& [name, value] : request.headers) fields.add(name, value);
//   const corsd::cors::Decision d = policy.decide(fields.request(request.method));
//   if (corsd::cors::answers_preflight(policy, d)) {
//     reply(corsd::cors::preflight_status(d), d.headers, corsd::cors::preflight_body(d));
//   }

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "corsd/cors/decision.hpp"
#include "corsd/cors/policy.hpp"
#include "corsd/cors/request.hpp"

namespace corsd::cors {

// RequestFields
//
// Origin, Access-Control-Request-Method, -Headers and -Private-Network,
// gathered as the fields go by; the views point into the caller's fields.
class RequestFields {
 public:
  // Access-Control-Request-Headers lines kept: one more than decide()
  // takes (32; a browser sends one), so a request with more is refused as
  // headers_too_many_lines. Lines past these are not kept.
  static constexpr std::size_t kHeaderLines = 33;

  // add()
  //
  // One header field of the request, in the order received.
  void add(std::string_view name, std::string_view value) noexcept;

  // request()
  //
  // The CORS view of a request with `method`, valid while this object and
  // the fields it saw live. Access-Control-Request-Private-Network counts
  // only with the value "true", as the Private Network Access draft says.
  CorsRequest request(std::string_view method) const noexcept;

 private:
  SingleHeader origin_, request_method_, private_network_;
  std::array<std::string_view, kHeaderLines> header_lines_{};
  std::size_t header_line_count_ = 0;
};

// is_access_control_field()
//
// Whether `name` starts with "Access-Control-" (any case): the fields a host
// removes from an application's answer before adding the policy's.
bool is_access_control_field(std::string_view name) noexcept;

// append_vary()
//
// Appends to `out` the tokens of `lines` (a response's Vary lines), then
// those of `extra` (the decision's) they lack; `*` takes no extra. Returns
// whether it wrote any.
bool append_vary(std::string& out, std::span<const std::string_view> lines, std::string_view extra);

// merge_vary()
//
// append_vary() for one existing Vary value (empty: none).
std::string merge_vary(std::string_view existing, std::string_view extra);

// answers_preflight()
//
// Whether the host answers the request itself: every preflight, but an
// accepted one on a policy that passes preflights through to the
// application. A rejected preflight never reaches it.
bool answers_preflight(const Policy& policy, const Decision& decision) noexcept;

// preflight_status()
//
// 204 for an accepted preflight (no body, RFC 9110 §15.3.5), 403 for a
// rejected one.
inline unsigned preflight_status(const Decision& d) noexcept {
  return d.kind == DecisionKind::preflight_accepted ? 204 : 403;
}

// preflight_body_parts()
//
// The text/plain body of a rejected preflight, in pieces that need no
// allocation: "CORS preflight rejected: REASON[: NAME]\n". Empty for an
// accepted one.
std::array<std::string_view, 5> preflight_body_parts(const Decision& d) noexcept;

// preflight_body()
//
// The same, joined.
std::string preflight_body(const Decision& d);

}  // namespace corsd::cors
