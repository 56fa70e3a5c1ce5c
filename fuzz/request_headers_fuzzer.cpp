// Fuzzes how a preflight's Access-Control-Request-Headers are read: any bytes
// as its lines (one line each), gathered by RequestFields as a host gathers
// them, decided by a listed policy and by a credentialed "*" one, which
// answers with the names asked for. What must hold for every input: an
// accepted preflight asked only for names the policy allows (listed, or "*"
// but never authorization unlisted); a credentialed "*" answers with the
// request's own lines; a refusal names a requested header.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "corsd/cors/detail/token.hpp"
#include "corsd/cors/host.hpp"
#include "corsd/cors/policy.hpp"
#include "require.hpp"

namespace {

using corsd::cors::Decision;
using corsd::cors::DecisionKind;
using corsd::cors::Policy;
using corsd::cors::PolicySpec;
using corsd::cors::RejectReason;

using corsd::fuzz::require;

Policy make(std::vector<std::string> headers) {
  PolicySpec s;
  s.allow_origins = {"https://app.example.com"};
  s.allow_credentials = true;
  s.allow_methods = {"PUT"};
  s.allow_headers = std::move(headers);
  return std::get<Policy>(Policy::create(s));
}

bool listed(const Policy& policy, std::string_view name) {
  for (const std::string& h : policy.spec().allow_headers) {
    if (corsd::cors::ascii_iequals(h, name)) return true;
  }
  return false;
}

void check(const Policy& policy, const std::vector<std::string_view>& lines, const Decision& d) {
  const bool star = listed(policy, "*");
  if (d.kind == DecisionKind::preflight_accepted) {
    corsd::cors::ListCursor names(lines);
    std::string_view name;
    while (names.next(name)) {
      require(corsd::cors::is_token(name));
      require(listed(policy, name) || (star && !corsd::cors::ascii_iequals(name, "authorization")));
    }
    std::vector<std::string_view> answered;
    for (const auto& h : d.headers) {
      if (h.name == "Access-Control-Allow-Headers") answered.push_back(h.value);
    }
    if (star) require(answered == lines);
  } else {
    require(d.kind == DecisionKind::preflight_rejected);
    require(d.headers.empty());
    if (d.reason == RejectReason::header_not_allowed || d.reason == RejectReason::headers_malformed) {
      bool requested = false;
      for (const std::string_view line : lines) requested = requested || line.find(d.detail) != std::string_view::npos;
      require(requested && !d.detail.empty());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Policy policies[] = {make({"content-type", "x-token", "Authorization"}), make({"*"}),
                                    make({"*", "authorization"})};
  std::vector<std::string_view> lines;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (!rest.empty() && lines.size() < 40) {
    const std::size_t nl = rest.find('\n');
    lines.push_back(rest.substr(0, nl));
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
  }
  corsd::cors::RequestFields fields;
  fields.add("Origin", "https://app.example.com");
  fields.add("Access-Control-Request-Method", "PUT");
  for (const std::string_view line : lines) fields.add("Access-Control-Request-Headers", line);
  const corsd::cors::CorsRequest request = fields.request("OPTIONS");
  std::vector<std::string_view> kept(request.request_headers.begin(), request.request_headers.end());
  for (const Policy& p : policies) check(p, kept, p.decide(request));
  return 0;
}
