#pragma once
// File: corsd/cors/policy.hpp
//
// A CORS policy: which origins may read responses, with which methods,
// request headers and credentials, and what the answers say. A PolicySpec is
// what a user wrote (flags, a config file, code); Policy::create() checks it
// and compiles it once into a Policy whose decide() answers requests without
// allocating. Every policy, the seed's included, is a value of this type.

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "corsd/cors/decision.hpp"
#include "corsd/cors/origin.hpp"
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
  std::vector<std::string> allow_methods;   // emitted in this order
  std::vector<std::string> allow_headers;   // emitted in this order
  std::vector<std::string> expose_headers;
  std::optional<unsigned> max_age_seconds;
  bool allow_private_network = false;
  // Answer requests without Origin with "Access-Control-Allow-Origin: *", as
  // the seed's server does.
  bool wildcard_without_origin = false;
};

// PolicyError
//
// Why a PolicySpec was refused: the `field` at fault, the `rule` it breaks
// and a `fix`.
struct PolicyError {
  std::string field;
  std::string rule;
  std::string fix;
};

class Policy;
using PolicyOrError = std::variant<Policy, PolicyError>;

class Policy {
 public:
  // create()
  //
  // Checks `spec` and returns the compiled Policy, or the first rule it breaks.
  static PolicyOrError create(PolicySpec spec);

  // seed()
  //
  // The policy of the seed's Node.js server: any origin echoed, methods
  // GET, POST, PUT, DELETE, OPTIONS, request headers content-type and accept,
  // max-age 10 s, "*" for requests without Origin.
  static Policy seed();

  // decide()
  //
  // Classifies `request` (Fetch Standard §3.3: a preflight is OPTIONS with
  // Origin and Access-Control-Request-Method) and returns the decision and
  // the headers it needs. Total and allocation-free.
  Decision decide(const CorsRequest& request) const noexcept;

  const PolicySpec& spec() const noexcept { return spec_; }

 private:
  explicit Policy(PolicySpec spec);

  Decision decide_preflight(const CorsRequest& request, std::string_view allow_origin) const noexcept;
  Decision decide_actual(std::string_view allow_origin) const noexcept;
  RejectReason check_method(std::string_view method) const noexcept;
  RejectReason check_headers(const CorsRequest& request, std::string_view& offending) const noexcept;
  bool header_allowed(std::string_view name) const noexcept;

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

}  // namespace corsd::cors
