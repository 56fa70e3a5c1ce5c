#pragma once
// File: corsd/cors/policy.hpp
//
// A CORS policy: which origins may read responses, with which methods,
// request headers and credentials, and what the answers say. A PolicySpec is
// what a user wrote (flags, a config file, code); Policy::create() checks it
// and compiles it once into a Policy whose decide() answers requests without
// allocating. Every policy, the seed's included, is a value of this type.
//
// The rules are the Fetch Standard's (https://fetch.spec.whatwg.org/):
// #http-responses for the response fields, #cors-preflight-fetch for the
// preflight and #cors-protocol-and-credentials for what "*" means with and
// without credentials. What create() refuses is what a browser would make
// insecure or useless: any origin with credentials, origins that are not
// serialized origins, patterns over a public suffix with credentials,
// forbidden methods and header names.
//
// Example:
//
//   corsd::cors::PolicySpec spec;
//   spec.allow_origins = {"https://app.example.com", "https://*.example.com"};
//   spec.allow_credentials = true;
//   spec.allow_methods = {"PUT", "DELETE"};
//   auto created = corsd::cors::Policy::create(spec);
//   if (auto* e = std::get_if<corsd::cors::PolicyError>(&created))
//     std::cerr << e->field << ": " << e->rule << "\n  fix: " << e->fix << "\n";
//   const corsd::cors::Policy& policy = std::get<corsd::cors::Policy>(created);
//   const corsd::cors::Decision d = policy.decide(request);   // request: a CorsRequest

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "corsd/cors/decision.hpp"
#include "corsd/cors/detail/origin.hpp"
#include "corsd/cors/request.hpp"

namespace corsd::cors {

// PolicySpec
//
// A policy as written. Lists hold "*" to mean "any" where the Fetch Standard
// allows a wildcard.
struct PolicySpec {
  enum class Origins {
    listed,      // only `allow_origins`
    any,         // every origin, answered with "*": a public resource
    any_echoed,  // every origin, answered with the origin itself (the seed)
  };

  Origins origins = Origins::listed;
  std::vector<std::string> allow_origins;
  bool allow_credentials = false;
  std::vector<std::string> allow_methods;  // emitted in this order
  std::vector<std::string> allow_headers;  // emitted in this order
  std::vector<std::string> expose_headers;
  std::optional<unsigned> max_age_seconds;
  bool allow_private_network = false;
  // Answer requests without Origin with "Access-Control-Allow-Origin: *", as
  // the seed's server does.
  bool wildcard_without_origin = false;
  // Let the application answer preflights (OPTIONS) itself; corsd only adds
  // the headers of an accepted preflight to its answer.
  bool preflight_passthrough = false;
  // Allow credentials for http:// origins other than loopback, whose
  // responses anyone on the network path can read and forge.
  bool dangerously_allow_insecure_origins_with_credentials = false;
};

// Says whether a domain ("com", "github.io") is a public suffix, under which
// anyone can register a site. Policy::create() uses it to refuse patterns
// like "https://*.github.io" together with credentials.
using PublicSuffixCheck = std::function<bool(std::string_view domain)>;

// PolicyError
//
// Why a PolicySpec was refused: the `field` at fault, the `rule` it breaks
// and a `fix`.
struct PolicyError {
  static constexpr std::size_t kWholeField = static_cast<std::size_t>(-1);

  std::string field;
  std::string rule;
  std::string fix;
  std::size_t index = kWholeField;  // the offending element of a list field
};

class Policy;
using PolicyOrError = std::variant<Policy, PolicyError>;

class Policy {
 public:
  // create()
  //
  // Checks `spec` and returns the compiled Policy, or the first rule it
  // breaks. Without `is_public_suffix`, only single-label bases ("com")
  // count as public suffixes.
  static PolicyOrError create(PolicySpec spec, const PublicSuffixCheck& is_public_suffix = {});

  // seed()
  //
  // The policy of the seed's Node.js server: any origin echoed, methods
  // GET, POST, PUT, DELETE, OPTIONS, request headers content-type and accept,
  // max-age 10 s, "*" for requests without Origin.
  static Policy seed();

  // decide()
  //
  // Classifies `request` (Fetch Standard #cors-preflight-request: a
  // preflight is OPTIONS with Origin and Access-Control-Request-Method) and
  // returns the decision and the headers it needs. Total and
  // allocation-free.
  Decision decide(const CorsRequest& request) const noexcept;

  // The spec as create() normalized it: ["*"] origins become Origins::any,
  // origins serialized, header names lowercased, the six methods browsers
  // normalize (GET, PUT, ...) uppercased.
  const PolicySpec& spec() const noexcept { return spec_; }

  // describe()
  //
  // Returns the policy as the headers it sends, one "name: value" per line,
  // for --check-config.
  std::string describe() const;

 private:
  Policy(PolicySpec spec, OriginMatcher origins);

  Decision decide_preflight(const CorsRequest& request, std::string_view allow_origin) const noexcept;
  Decision decide_actual(std::string_view allow_origin) const noexcept;
  RejectReason check_method(std::string_view method) const noexcept;
  RejectReason check_headers(const CorsRequest& request, std::string_view& offending) const noexcept;
  bool header_allowed(std::string_view name) const noexcept;
  // "*" with credentials, which browsers read literally: the preflight's
  // answer names what it asked for instead.
  bool reflects_methods() const noexcept { return any_method_ && spec_.allow_credentials; }
  bool reflects_headers() const noexcept { return any_header_ && spec_.allow_credentials; }

  PolicySpec spec_;
  OriginMatcher origins_;
  bool any_method_ = false;
  bool any_header_ = false;
  // Header values rendered once, at creation.
  std::string allow_methods_value_;
  std::string allow_headers_value_;
  std::string expose_headers_value_;
  std::string max_age_value_;
};

// explain_rejection()
//
// Returns what the policy would need to allow what `decision` refused or
// withheld, from its why() and detail ("add \"https://a.example\" to
// allow_origins"), for debug logs. Allocates: call it only when logging.
std::string explain_rejection(const Decision& decision, const CorsRequest& request);

}  // namespace corsd::cors
