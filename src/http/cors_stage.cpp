#include "corsd/http/cors_stage.hpp"

#include <array>
#include <string>

#include "corsd/cors/detail/token.hpp"

namespace corsd::http {
namespace {

// Client-controlled text goes into logs with control bytes masked, so a
// crafted Origin cannot forge log lines or drive a terminal.
void append_printable(std::string& out, std::string_view s) {
  for (char c : s) out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
}

}  // namespace

cors::CorsRequest cors_request(const Request& request, cors::RequestFields& fields) noexcept {
  for (const auto& f : request.fields) fields.add(f.name, f.value);
  return fields.request(request.method);
}

bool looks_like_preflight(const Request& request) noexcept {
  if (request.method != "OPTIONS") return false;
  bool origin = false, method = false;
  for (const auto& f : request.fields) {
    origin = origin || cors::ascii_iequals(f.name, "origin");
    method = method || cors::ascii_iequals(f.name, "access-control-request-method");
  }
  return origin && method;
}

cors::Decision CorsStage::decide(const cors::Route& route, const Request& request, bool report) const {
  cors::RequestFields fields;
  return decide(route, cors_request(request, fields), report);
}

cors::Decision CorsStage::decide(const cors::Route& route, const cors::CorsRequest& cors, bool report) const {
  const cors::Decision decision = route.policy.decide(cors);
  if (report && decision.why() != cors::RejectReason::none && on_rejection_) this->report(route, cors, decision);
  return decision;
}

bool CorsStage::answer_buffered(const cors::Route& route, const Request& request, Response& response,
                                cors::Decision& decision) {
  cors::RequestFields fields;
  const cors::CorsRequest cors = cors_request(request, fields);
  // An HTTP/2 session sends the head as fields, not the kept bytes.
  const bool serialized = !response.over_http2();
  if (const auto kept = serialized ? kept_.find(route, cors) : std::nullopt) {
    decision = cors::Decision{};
    decision.kind = cors::DecisionKind::preflight_accepted;  // its fields are the kept ones
    response.use_cors(&decision);
    response.head().add_serialized(*kept);
    response.set_status(204);
    response.send();
    return true;
  }
  decision = decide(route, cors, /*report=*/true);
  if (!answers_itself(route, decision)) return false;
  answer_preflight(decision, response);
  if (serialized) kept_.keep(route, cors, decision);
  return true;
}

void CorsStage::answer_preflight(const cors::Decision& decision, Response& response) {
  response.use_cors(&decision);
  if (decision.kind == cors::DecisionKind::preflight_accepted) {
    response.set_status(204);
    response.send();
    return;
  }
  response.set_status(cors::preflight_status(decision));
  response.add("Content-Type", "text/plain; charset=utf-8");
  response.add("X-Content-Type-Options", "nosniff");
  const auto body = cors::preflight_body_parts(decision);
  response.send({body[0], body[1], body[2], body[3], body[4]});
}

void CorsStage::report(const cors::Route& route, const cors::CorsRequest& cors, const cors::Decision& decision) const {
  std::string line = "CORS rejected: route=" + route.prefix + " origin=";
  append_printable(line, cors.origin.value);
  line += " method=";
  append_printable(line, cors.method);
  if (decision.is_preflight()) {
    line += " request-method=";
    append_printable(line, cors.request_method.value);
  }
  line += decision.reason != cors::RejectReason::none ? " reason=" : " withheld=";
  line += cors::reason_name(decision.why());
  line += " need: ";
  append_printable(line, cors::explain_rejection(decision, cors));
  on_rejection_(line);
}

void apply_cors(const cors::Decision& decision, ResponseHead& head) {
  head.remove_if(cors::is_access_control_field);
  for (const auto& f : decision.headers) head.add(f.name, f.value);
  head.add_vary(decision.vary);
}

}  // namespace corsd::http
