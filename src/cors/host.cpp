#include "corsd/cors/host.hpp"

#include "corsd/cors/detail/token.hpp"

namespace corsd::cors {
namespace {

void count(SingleHeader& h, std::string_view value) noexcept {
  if (h.count == 0) h.value = value;
  if (h.count < 255) ++h.count;
}

bool lines_contain(std::span<const std::string_view> lines, std::string_view token) noexcept {
  for (const std::string_view line : lines) {
    if (list_contains(line, token)) return true;
  }
  return false;
}

}  // namespace

void RequestFields::add(std::string_view name, std::string_view value) noexcept {
  // By length first: every field of every request comes through here, and
  // most have a length none of the four has.
  switch (name.size()) {
    case 6:
      if (equals_lowercase(name, "origin")) count(origin_, value);
      return;
    case 29:
      if (equals_lowercase(name, "access-control-request-method")) count(request_method_, value);
      return;
    case 30:
      if (equals_lowercase(name, "access-control-request-headers") && header_line_count_ < kHeaderLines) {
        header_lines_[header_line_count_++] = value;
      }
      return;
    case 38:
      if (equals_lowercase(name, "access-control-request-private-network")) count(private_network_, value);
      return;
    default: return;
  }
}

CorsRequest RequestFields::request(std::string_view method) const noexcept {
  CorsRequest r;
  r.method = method;
  r.origin = origin_;
  r.request_method = request_method_;
  r.request_headers = std::span<const std::string_view>(header_lines_.data(), header_line_count_);
  // Only the exact value "true" asks for private-network access.
  if (private_network_.present() && private_network_.value == "true") r.request_private_network = private_network_;
  return r;
}

bool is_access_control_field(std::string_view name) noexcept {
  constexpr std::string_view prefix = "access-control-";
  return name.size() >= prefix.size() && ascii_iequals(name.substr(0, prefix.size()), prefix);
}

bool append_vary(std::string& out, std::span<const std::string_view> lines, std::string_view extra) {
  bool wrote = false;
  const auto append_token = [&](std::string_view token) {
    if (wrote) out.append(", ");
    out.append(token);
    wrote = true;
  };
  std::string_view token;
  for (ListCursor cursor(lines); cursor.next(token);) append_token(token);
  if (lines_contain(lines, "*")) return wrote;
  for (ListCursor cursor(std::span<const std::string_view>(&extra, 1)); cursor.next(token);) {
    if (!lines_contain(lines, token)) append_token(token);
  }
  return wrote;
}

std::string merge_vary(std::string_view existing, std::string_view extra) {
  std::string out;
  append_vary(out, existing.empty() ? std::span<const std::string_view>() : std::span(&existing, 1), extra);
  return out;
}

bool answers_preflight(const Policy& policy, const Decision& d) noexcept {
  return d.kind == DecisionKind::preflight_rejected ||
         (d.kind == DecisionKind::preflight_accepted && !policy.spec().preflight_passthrough);
}

std::array<std::string_view, 5> preflight_body_parts(const Decision& d) noexcept {
  if (d.kind != DecisionKind::preflight_rejected) return {};
  const bool named = d.reason == RejectReason::header_not_allowed || d.reason == RejectReason::method_not_allowed;
  return {"CORS preflight rejected: ", reason_name(d.reason), named ? ": " : "", named ? d.detail : "", "\n"};
}

std::string preflight_body(const Decision& d) {
  std::string out;
  for (const std::string_view part : preflight_body_parts(d)) out.append(part);
  return out;
}

}  // namespace corsd::cors
