#pragma once
// File: corsd/http/cors_stage.hpp
//
// CORS as a stage on heads only, shared by the built-in applications and the
// proxy (as Envoy's CORS filter works on headers and lets data through). On
// the request head it decides: a preflight is answered here (204 with the
// policy's headers, or 403 naming the reason) unless the route passes
// preflights through; any other request goes on. On the response head, from
// the application or the upstream alike, it removes every Access-Control-*
// field, adds the policy's, and merges Vary.

#include <functional>
#include <span>
#include <string_view>

#include "corsd/cors/host.hpp"
#include "corsd/cors/route_table.hpp"
#include "corsd/http/preflight_cache.hpp"
#include "corsd/http/request.hpp"
#include "corsd/http/response.hpp"

namespace corsd::http {

// cors_request()
//
// Returns the CORS view of `request`, gathered in `fields` (the result
// points into it).
cors::CorsRequest cors_request(const Request& request, cors::RequestFields& fields) noexcept;

// looks_like_preflight()
//
// Whether `request` is OPTIONS with Origin and Access-Control-Request-Method
// (Fetch Standard §3.3.1): cheaper than a decision, for routing.
bool looks_like_preflight(const Request& request) noexcept;

// Receives one line per rejected request when debug logging is on.
using RejectionSink = std::function<void(std::string_view line)>;

class CorsStage {
 public:
  // With `on_rejection` set, each rejection is described to it (route,
  // origin, reason, and what the policy would need); unset, rejections cost
  // nothing extra.
  explicit CorsStage(RejectionSink on_rejection = {}) : on_rejection_(std::move(on_rejection)) {}

  // decide()
  //
  // The decision of `route`'s policy on `request`'s head, reported to the
  // sink when rejected and `report` is set. Its views point into the policy
  // and the request.
  cors::Decision decide(const cors::Route& route, const Request& request, bool report = true) const;

  // answers_itself()
  //
  // Whether the stage answers the request instead of the application: every
  // preflight, but an accepted one on a route that passes preflights
  // through. A rejected preflight never reaches the application (nor an
  // upstream).
  static bool answers_itself(const cors::Route& route, const cors::Decision& decision) noexcept {
    return cors::answers_preflight(route.policy, decision);
  }

  // answer_preflight()
  //
  // 204 with the policy's headers, or 403 without CORS headers and the
  // reason in the body.
  static void answer_preflight(const cors::Decision& decision, Response& response);

  // answer_buffered()
  //
  // For a buffered request: sets `decision` to `route`'s on `request` and,
  // when the stage answers itself, answers it into `response` (an accepted
  // preflight asked before, from the answers kept: preflight_cache.hpp) and
  // returns true. `decision` must outlive the response's send().
  bool answer_buffered(const cors::Route& route, const Request& request, Response& response, cors::Decision& decision);

  // Forgets the answers kept: before the routes they name go.
  void forget_answers() noexcept { kept_.clear(); }

 private:
  cors::Decision decide(const cors::Route& route, const cors::CorsRequest& cors, bool report) const;
  void report(const cors::Route& route, const cors::CorsRequest& cors, const cors::Decision& decision) const;

  RejectionSink on_rejection_;
  PreflightCache kept_;
};

// apply_cors()
//
// Puts `decision` on a response head: every Access-Control-* field already
// there goes (an upstream's own, which would duplicate or contradict the
// policy's), the decision's are added, and its Vary tokens are merged.
void apply_cors(const cors::Decision& decision, ResponseHead& head);

}  // namespace corsd::http
