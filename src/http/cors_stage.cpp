#include "corsd/http/cors_stage.hpp"

#include <array>
#include <string>

#include "corsd/cors/token.hpp"

namespace corsd::http {
namespace {

// One more slot than the policy accepts, so an excess is seen and refused.
constexpr std::size_t kHeaderLineSlots = 33;

std::uint8_t saturating_count(std::size_t n) noexcept { return n > 255 ? 255 : static_cast<std::uint8_t>(n); }

cors::SingleHeader single(const Request& request, std::string_view name) noexcept {
  cors::SingleHeader h;
  std::size_t n = 0;
  for (const auto& f : request.fields) {
    if (!cors::ascii_iequals(f.name, name)) continue;
    if (n++ == 0) h.value = f.value;
  }
  h.count = saturating_count(n);
  return h;
}

// Client-controlled text goes into logs with control bytes masked, so a
// crafted Origin cannot forge log lines or drive a terminal.
void append_printable(std::string& out, std::string_view s) {
  for (char c : s) out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
}

bool is_access_control_field(std::string_view name) noexcept {
  constexpr std::string_view prefix = "access-control-";
  return name.size() >= prefix.size() && cors::ascii_iequals(name.substr(0, prefix.size()), prefix);
}

}  // namespace

cors::CorsRequest cors_request(const Request& request, std::span<std::string_view> header_lines) noexcept {
  cors::CorsRequest r;
  r.method = request.method;
  r.origin = single(request, "origin");
  r.request_method = single(request, "access-control-request-method");
  r.request_private_network = single(request, "access-control-request-private-network");
  std::size_t lines = 0;
  for (const auto& f : request.fields) {
    if (lines < header_lines.size() && cors::ascii_iequals(f.name, "access-control-request-headers")) {
      header_lines[lines++] = f.value;
    }
  }
  r.request_headers = header_lines.first(lines);
  // Only the exact value "true" asks for private-network access.
  if (r.request_private_network.present() && r.request_private_network.value != "true") {
    r.request_private_network = {};
  }
  return r;
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
  std::array<std::string_view, kHeaderLineSlots> lines;
  const cors::CorsRequest cors = cors_request(request, lines);
  const cors::Decision decision = route.policy.decide(cors);
  if (report && decision.reason != cors::RejectReason::none && on_rejection_) this->report(route, cors, decision);
  return decision;
}

void CorsStage::answer_preflight(const cors::Decision& decision, Response& response) {
  response.use_cors(&decision);
  if (decision.kind == cors::DecisionKind::preflight_accepted) {
    response.set_status(204);
    response.send();
    return;
  }
  response.set_status(403);
  response.add("Content-Type", "text/plain; charset=utf-8");
  response.add("X-Content-Type-Options", "nosniff");
  const bool named = decision.reason == cors::RejectReason::header_not_allowed ||
                     decision.reason == cors::RejectReason::method_not_allowed;
  response.send({"CORS preflight rejected: ", cors::reason_name(decision.reason), named ? ": " : "",
                 named ? decision.detail : "", "\n"});
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
  line += " reason=";
  line += cors::reason_name(decision.reason);
  line += " need: ";
  append_printable(line, cors::explain_rejection(decision, cors));
  on_rejection_(line);
}

void apply_cors(const cors::Decision& decision, ResponseHead& head) {
  head.remove_if(is_access_control_field);
  for (const auto& f : decision.headers) head.add(f.name, f.value);
  head.add_vary(decision.vary);
}

}  // namespace corsd::http
