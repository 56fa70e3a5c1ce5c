// The smallest host of the policy engine: a policy from its spec (refused
// with a rule and a fix when insecure), and a preflight decided with it.

#include <corsd/cors/policy.hpp>
#include <iostream>
#include <string_view>
#include <variant>

int main() {
  namespace cors = corsd::cors;
  cors::PolicySpec insecure;
  insecure.allow_origins = {"*"};
  insecure.allow_credentials = true;
  const auto refused = cors::Policy::create(insecure);
  if (const auto* e = std::get_if<cors::PolicyError>(&refused)) {
    std::cout << "refused: " << e->rule << "\n";
  }

  cors::PolicySpec spec;
  spec.allow_origins = {"https://app.example.com"};
  spec.allow_methods = {"PUT", "DELETE"};
  spec.allow_headers = {"content-type"};
  const auto created = cors::Policy::create(spec);
  const cors::Policy& policy = std::get<cors::Policy>(created);

  const std::string_view headers[] = {"content-type"};
  cors::CorsRequest preflight;
  preflight.method = "OPTIONS";
  preflight.origin = {"https://app.example.com", 1};
  preflight.request_method = {"PUT", 1};
  preflight.request_headers = headers;
  const cors::Decision d = policy.decide(preflight);
  std::cout << cors::kind_name(d.kind) << "\n";
  for (const auto& h : d.headers) std::cout << h.name << ": " << h.value << "\n";
  return d.kind == cors::DecisionKind::preflight_accepted ? 0 : 1;
}
