#include "corsd/cors/policy.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace corsd::cors {
namespace {

using Headers = std::map<std::string, std::string>;

Headers to_map(const Decision& d) {
  Headers out;
  for (const auto& f : d.headers) out.emplace(std::string(f.name), std::string(f.value));
  return out;
}

// A request as a browser would send it; empty strings mean "absent". Views
// of literals, so decisions may outlive the builder.
struct RequestBuilder {
  std::string_view method = "GET";
  std::string_view origin;
  std::string_view acrm;
  std::vector<std::string_view> acrh;
  bool private_network = false;
  std::uint8_t origin_count = 1;

  CorsRequest build() const {
    CorsRequest r;
    r.method = method;
    if (!origin.empty()) r.origin = {origin, origin_count};
    if (!acrm.empty()) r.request_method = {acrm, 1};
    r.request_headers = acrh;
    if (private_network) r.request_private_network = {"true", 1};
    return r;
  }
};

RequestBuilder preflight(std::string_view origin, std::string_view method, std::vector<std::string_view> headers = {}) {
  RequestBuilder b;
  b.method = "OPTIONS";
  b.origin = origin;
  b.acrm = method;
  b.acrh = std::move(headers);
  return b;
}

RequestBuilder actual(std::string_view method, std::string_view origin) {
  RequestBuilder b;
  b.method = method;
  b.origin = origin;
  return b;
}

Policy make(PolicySpec spec) {
  auto result = Policy::create(std::move(spec));
  if (auto* e = std::get_if<PolicyError>(&result)) ADD_FAILURE() << e->field << ": " << e->rule;
  return std::get<Policy>(std::move(result));
}

PolicySpec listed_spec() {
  PolicySpec s;
  s.allow_origins = {"https://app.example.com"};
  s.allow_methods = {"PUT", "DELETE"};
  s.allow_headers = {"Content-Type", "X-Token"};
  s.expose_headers = {"X-Request-Id"};
  s.allow_credentials = true;
  s.max_age_seconds = 600;
  return s;
}

// --- The seed's policy -----------------------------------------------------

TEST(SeedPolicyTest, PreflightEchoesOriginWithTheSeedsHeaders) {
  const Policy p = Policy::seed();
  const auto b = preflight("http://localhost:8081", "PUT", {"content-type"});
  const Decision d = p.decide(b.build());
  EXPECT_EQ(d.kind, DecisionKind::preflight_accepted);
  EXPECT_EQ(to_map(d), (Headers{{"Access-Control-Allow-Origin", "http://localhost:8081"},
                                {"Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS"},
                                {"Access-Control-Allow-Headers", "content-type, accept"},
                                {"Access-Control-Max-Age", "10"}}));
  EXPECT_EQ(d.vary, "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
}

TEST(SeedPolicyTest, ActualRequestEchoesOriginAndVariesByOrigin) {
  const auto b = actual("PUT", "http://localhost:8081");
  const Decision d = Policy::seed().decide(b.build());
  EXPECT_EQ(d.kind, DecisionKind::actual_allowed);
  EXPECT_EQ(to_map(d), (Headers{{"Access-Control-Allow-Origin", "http://localhost:8081"}}));
  EXPECT_EQ(d.vary, "Origin");
}

TEST(SeedPolicyTest, RequestWithoutOriginGetsWildcardAsTheSeedSends) {
  const auto b = actual("GET", "");
  const Decision d = Policy::seed().decide(b.build());
  EXPECT_EQ(d.kind, DecisionKind::not_cors);
  EXPECT_EQ(to_map(d), (Headers{{"Access-Control-Allow-Origin", "*"}}));
  EXPECT_EQ(d.vary, "Origin");
}

TEST(SeedPolicyTest, NullOriginIsNeverEchoed) {
  const Decision d = Policy::seed().decide(preflight("null", "PUT").build());
  EXPECT_EQ(d.kind, DecisionKind::preflight_rejected);
  EXPECT_EQ(d.reason, RejectReason::origin_null);
  EXPECT_TRUE(d.headers.empty());
}

TEST(SeedPolicyTest, MalformedOriginIsNeverEchoed) {
  const std::vector<std::string> malformed = {"http://a.com/path",
                                              "http://[::::]",
                                              "http://[1.2.3.4]",
                                              "http://[0::1]",
                                              "https://" + std::string(254, 'a'),
                                              "https://" + std::string(64, 'a') + ".com"};
  for (const std::string& origin : malformed) {
    const Decision d = Policy::seed().decide(actual("GET", origin).build());
    EXPECT_EQ(d.kind, DecisionKind::actual_rejected) << origin;
    EXPECT_EQ(d.reason, RejectReason::origin_malformed) << origin;
    EXPECT_TRUE(d.headers.empty()) << origin;
  }
}

// The limits of max_age at their edges: 0 is sent as 0 (it tells browsers
// not to cache), 86400 as 86400, and 86401 is refused (policy refusals).
TEST(MaxAgeTest, ZeroAndTheLargestAreSentAsWritten) {
  for (const unsigned age : {0u, 86400u}) {
    PolicySpec s = listed_spec();
    s.max_age_seconds = age;
    const Policy p = make(s);  // the decision's fields point into the policy and the request
    const auto b = preflight("https://app.example.com", "PUT");
    const Decision d = p.decide(b.build());
    ASSERT_EQ(d.kind, DecisionKind::preflight_accepted);
    EXPECT_EQ(to_map(d)["Access-Control-Max-Age"], std::to_string(age));
  }
  PolicySpec none = listed_spec();
  none.max_age_seconds.reset();
  EXPECT_EQ(
      to_map(make(none).decide(preflight("https://app.example.com", "PUT").build())).count("Access-Control-Max-Age"),
      0u);
}

// --- Fetch Standard §3.3: what a preflight is --------------------------------

TEST(FetchPreflightTest, OptionsWithoutRequestMethodIsAnActualRequest) {
  const Decision d = Policy::seed().decide(actual("OPTIONS", "http://localhost:8081").build());
  EXPECT_EQ(d.kind, DecisionKind::actual_allowed);
}

TEST(FetchPreflightTest, LowercaseOptionsIsNotAPreflight) {
  auto b = preflight("http://localhost:8081", "PUT");
  b.method = "options";
  EXPECT_EQ(Policy::seed().decide(b.build()).kind, DecisionKind::actual_allowed);
}

TEST(FetchPreflightTest, RepeatedOriginIsRejected) {
  auto b = preflight("http://localhost:8081", "PUT");
  b.origin_count = 2;
  const Decision d = Policy::seed().decide(b.build());
  EXPECT_EQ(d.kind, DecisionKind::preflight_rejected);
  EXPECT_EQ(d.reason, RejectReason::origin_repeated);
}

// --- Fetch Standard §4.8 step 7.5: methods ---------------------------------

TEST(FetchMethodTest, SafelistedMethodsNeedNoListing) {
  const Policy p = make(listed_spec());
  for (const char* m : {"GET", "HEAD", "POST"}) {
    EXPECT_EQ(p.decide(preflight("https://app.example.com", m).build()).kind, DecisionKind::preflight_accepted) << m;
  }
}

TEST(FetchMethodTest, MethodsCompareByteExactly) {
  const Policy p = make(listed_spec());
  const Decision d = p.decide(preflight("https://app.example.com", "patch").build());
  EXPECT_EQ(d.reason, RejectReason::method_not_allowed);
  EXPECT_EQ(d.detail, "patch");
  EXPECT_EQ(p.decide(preflight("https://app.example.com", "put").build()).reason, RejectReason::method_not_allowed);
}

TEST(FetchMethodTest, MalformedRequestMethodIsRejected) {
  EXPECT_EQ(Policy::seed().decide(preflight("http://localhost:8081", "PU T").build()).reason,
            RejectReason::method_malformed);
}

TEST(FetchMethodTest, WildcardMethodAllowsAnyMethodWithoutCredentials) {
  PolicySpec s;
  s.origins = PolicySpec::Origins::any;
  s.allow_methods = {"*"};
  // A Decision's views point into the policy and the request: both outlive it.
  const Policy policy = make(s);
  const auto request = preflight("https://a.example", "PATCH");
  const Decision d = policy.decide(request.build());
  EXPECT_EQ(d.kind, DecisionKind::preflight_accepted);
  EXPECT_EQ(to_map(d).at("Access-Control-Allow-Methods"), "*");
  EXPECT_EQ(to_map(d).at("Access-Control-Allow-Origin"), "*");
}

// With credentials a browser reads "*" as a method name: a preflight is
// answered with the method it asked for, and varies by it.
TEST(FetchMethodTest, WildcardMethodWithCredentialsAnswersTheRequestedMethod) {
  PolicySpec s = listed_spec();
  s.allow_methods = {"*"};
  const Policy policy = make(s);
  const auto request = preflight("https://app.example.com", "PATCH");
  const Decision d = policy.decide(request.build());
  EXPECT_EQ(d.kind, DecisionKind::preflight_accepted);
  EXPECT_EQ(to_map(d).at("Access-Control-Allow-Methods"), "PATCH");
  EXPECT_EQ(to_map(d).at("Access-Control-Allow-Credentials"), "true");
  EXPECT_NE(d.vary.find("Access-Control-Request-Method"), std::string_view::npos);
  EXPECT_NE(policy.describe().find("the method the preflight asks for"), std::string::npos);
}

// --- Fetch Standard §4.8 steps 7.6-7.7: request headers --------------------

TEST(FetchHeadersTest, RequestHeadersMatchCaseInsensitively) {
  const Policy p = make(listed_spec());
  const Decision d = p.decide(preflight("https://app.example.com", "PUT", {"content-type,x-token"}).build());
  EXPECT_EQ(d.kind, DecisionKind::preflight_accepted);
  EXPECT_EQ(to_map(d).at("Access-Control-Allow-Headers"), "content-type, x-token");
}

TEST(FetchHeadersTest, UnlistedHeaderIsRejectedAndNamed) {
  const Policy policy = make(listed_spec());
  const auto request = preflight("https://app.example.com", "PUT", {"content-type,x-foo"});
  const Decision d = policy.decide(request.build());  // `detail` points into the request
  EXPECT_EQ(d.kind, DecisionKind::preflight_rejected);
  EXPECT_EQ(d.reason, RejectReason::header_not_allowed);
  EXPECT_EQ(d.detail, "x-foo");
  EXPECT_TRUE(d.headers.empty());
}

TEST(FetchHeadersTest, ListSplitOverLinesWithSpacesAndEmptyElements) {
  const Decision d =
      make(listed_spec()).decide(preflight("https://app.example.com", "PUT", {" Content-Type , ,", "X-TOKEN"}).build());
  EXPECT_EQ(d.kind, DecisionKind::preflight_accepted);
}

TEST(FetchHeadersTest, MalformedHeaderNameIsRejected) {
  const Decision d = make(listed_spec()).decide(preflight("https://app.example.com", "PUT", {"content type"}).build());
  EXPECT_EQ(d.reason, RejectReason::headers_malformed);
}

// With credentials a browser reads "*" as a header name: a preflight is
// answered with the names it asked for (one field per request line), and
// authorization only when the policy names it.
TEST(FetchHeadersTest, WildcardHeadersWithCredentialsAnswerTheRequestedNames) {
  PolicySpec s = listed_spec();
  s.allow_headers = {"*"};
  const Policy policy = make(s);
  const auto request = preflight("https://app.example.com", "PUT", {"x-a, x-b", "content-type"});
  const Decision d = policy.decide(request.build());
  ASSERT_EQ(d.kind, DecisionKind::preflight_accepted);
  std::vector<std::string_view> allowed;
  for (const auto& h : d.headers) {
    if (h.name == "Access-Control-Allow-Headers") allowed.push_back(h.value);
  }
  EXPECT_EQ(allowed, (std::vector<std::string_view>{"x-a, x-b", "content-type"}));
  EXPECT_NE(d.vary.find("Access-Control-Request-Headers"), std::string_view::npos);

  const auto with_authorization = preflight("https://app.example.com", "PUT", {"x-a,authorization"});
  const Decision refused = policy.decide(with_authorization.build());
  EXPECT_EQ(refused.reason, RejectReason::header_not_allowed);
  EXPECT_EQ(refused.detail, "authorization");

  s.allow_headers = {"*", "authorization"};
  const Policy named = make(s);
  EXPECT_EQ(named.decide(with_authorization.build()).kind, DecisionKind::preflight_accepted);

  const auto four_lines = preflight("https://app.example.com", "PUT", {"x-a", "x-b", "x-c", "x-d"});
  EXPECT_EQ(policy.decide(four_lines.build()).reason, RejectReason::headers_too_many_lines);
}

TEST(FetchHeadersTest, WildcardNeverCoversAuthorization) {
  PolicySpec s;
  s.origins = PolicySpec::Origins::any;
  s.allow_headers = {"*"};
  const Policy p = make(s);
  EXPECT_EQ(p.decide(preflight("https://a.example", "GET", {"x-anything"}).build()).kind,
            DecisionKind::preflight_accepted);
  const Decision d = p.decide(preflight("https://a.example", "GET", {"x-a,authorization"}).build());
  EXPECT_EQ(d.reason, RejectReason::header_not_allowed);
  EXPECT_EQ(d.detail, "authorization");
}

// --- Credentials ------------------------------------------------------------

TEST(CredentialsTest, ExactOriginAndAllowCredentialsOnPreflightAndActual) {
  const Policy p = make(listed_spec());
  const Decision pre = p.decide(preflight("https://app.example.com", "DELETE").build());
  EXPECT_EQ(to_map(pre).at("Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_EQ(to_map(pre).at("Access-Control-Allow-Credentials"), "true");
  EXPECT_EQ(to_map(pre).at("Access-Control-Max-Age"), "600");
  const Decision act = p.decide(actual("DELETE", "https://app.example.com").build());
  EXPECT_EQ(to_map(act), (Headers{{"Access-Control-Allow-Origin", "https://app.example.com"},
                                  {"Access-Control-Allow-Credentials", "true"},
                                  {"Access-Control-Expose-Headers", "x-request-id"}}));
}

TEST(CredentialsTest, UnlistedOriginGetsNoCorsHeadersButStillVaries) {
  const Policy p = make(listed_spec());
  const Decision act = p.decide(actual("GET", "https://app.example.com.evil.com").build());
  EXPECT_EQ(act.kind, DecisionKind::actual_rejected);
  EXPECT_EQ(act.reason, RejectReason::origin_not_allowed);
  EXPECT_TRUE(act.headers.empty());
  EXPECT_EQ(act.vary, "Origin");
  const Decision none = p.decide(actual("GET", "").build());
  EXPECT_EQ(none.kind, DecisionKind::not_cors);
  EXPECT_TRUE(none.headers.empty());
  EXPECT_EQ(none.vary, "Origin");
}

TEST(CredentialsTest, WildcardPolicyNeedsNoVary) {
  PolicySpec s;
  s.origins = PolicySpec::Origins::any;
  const Decision d = make(s).decide(actual("GET", "https://a.example").build());
  EXPECT_EQ(d.vary, "");
  EXPECT_EQ(to_map(d).at("Access-Control-Allow-Origin"), "*");
}

// --- Private Network Access -------------------------------------------------

TEST(PrivateNetworkTest, AnsweredOnlyWhenEnabled) {
  auto spec = listed_spec();
  auto b = preflight("https://app.example.com", "GET");
  b.private_network = true;
  {
    // Not granted: the preflight is still accepted, without the private-network field; the browser fails
    // only that check, and `withheld` says why.
    const Policy policy = make(spec);
    const Decision d = policy.decide(b.build());
    EXPECT_EQ(d.kind, DecisionKind::preflight_accepted);
    EXPECT_EQ(d.reason, RejectReason::none);
    EXPECT_EQ(d.withheld, RejectReason::private_network_not_allowed);
    EXPECT_EQ(to_map(d).count("Access-Control-Allow-Private-Network"), 0u);
    EXPECT_EQ(to_map(d).at("Access-Control-Allow-Origin"), "https://app.example.com");
  }
  spec.allow_private_network = true;
  const Policy policy = make(spec);  // outlives the Decision, whose views point into it
  const Decision d = policy.decide(b.build());
  EXPECT_EQ(to_map(d).at("Access-Control-Allow-Private-Network"), "true");
}

// --- Misconfigurations refused at creation ---------------------------------

struct RefusalCase {
  const char* name;
  void (*mutate)(PolicySpec&);
  const char* field;
};

TEST(PolicyValidationTest, InsecureOrMeaninglessSpecsAreRefused) {
  const RefusalCase cases[] = {
      {"any origin with credentials", [](PolicySpec& s) { s.origins = PolicySpec::Origins::any; }, "allow_origins"},
      {"echoed origin with credentials", [](PolicySpec& s) { s.origins = PolicySpec::Origins::any_echoed; },
       "allow_origins"},
      {"null origin", [](PolicySpec& s) { s.allow_origins = {"null"}; }, "allow_origins"},
      {"trailing slash", [](PolicySpec& s) { s.allow_origins = {"https://a.example/"}; }, "allow_origins"},
      {"star among origins",
       [](PolicySpec& s) {
         s.allow_origins = {"*", "https://a.example"};
       },
       "allow_origins"},
      {"forbidden method", [](PolicySpec& s) { s.allow_methods = {"TRACE"}; }, "allow_methods"},
      {"set-cookie exposed", [](PolicySpec& s) { s.expose_headers = {"Set-Cookie"}; }, "expose_headers"},
      {"max-age too large", [](PolicySpec& s) { s.max_age_seconds = 86401; }, "max_age"},
      {"pattern over a public suffix with credentials", [](PolicySpec& s) { s.allow_origins = {"https://*.com"}; },
       "allow_origins"},
      {"plain http origin with credentials", [](PolicySpec& s) { s.allow_origins = {"http://app.example.com"}; },
       "allow_origins"},
      {"forbidden request header", [](PolicySpec& s) { s.allow_headers = {"Cookie"}; }, "allow_headers"},
      {"sec- request header", [](PolicySpec& s) { s.allow_headers = {"sec-fetch-mode"}; }, "allow_headers"},
      {"response header in allow_headers",
       [](PolicySpec& s) {
         s.allow_headers = {"content-type", "Access-Control-Allow-Origin"};
       },
       "allow_headers"},
      {"wildcard in the wrong place", [](PolicySpec& s) { s.allow_origins = {"https://app.*.example.com"}; },
       "allow_origins"},
      {"wildcard exposed with credentials", [](PolicySpec& s) { s.expose_headers = {"*"}; }, "expose_headers"},
  };
  for (const auto& c : cases) {
    PolicySpec s = listed_spec();
    c.mutate(s);
    auto result = Policy::create(s);
    const auto* e = std::get_if<PolicyError>(&result);
    ASSERT_NE(e, nullptr) << c.name;
    EXPECT_EQ(e->field, c.field) << c.name;
    EXPECT_FALSE(e->fix.empty()) << c.name;
  }
}

TEST(PolicyValidationTest, MethodsBrowsersUppercaseAreNormalized) {
  auto s = listed_spec();
  s.allow_methods = {"put", "Delete", "patch"};
  const Policy p = make(s);
  EXPECT_EQ(p.decide(preflight("https://app.example.com", "PUT").build()).kind, DecisionKind::preflight_accepted);
  EXPECT_EQ(p.decide(preflight("https://app.example.com", "DELETE").build()).kind, DecisionKind::preflight_accepted);
  // PATCH is not normalized by browsers: "patch" allows "patch" only.
  EXPECT_EQ(p.decide(preflight("https://app.example.com", "PATCH").build()).kind, DecisionKind::preflight_rejected);
  EXPECT_EQ(p.decide(preflight("https://app.example.com", "patch").build()).kind, DecisionKind::preflight_accepted);
}

TEST(PolicyValidationTest, EmptyOriginListIsRefused) {
  auto s = listed_spec();
  s.allow_origins.clear();
  EXPECT_TRUE(std::holds_alternative<PolicyError>(Policy::create(s)));
}

TEST(PolicyValidationTest, RefusalNamesTheOffendingListElement) {
  auto s = listed_spec();
  s.allow_origins = {"https://ok.example", "https://bad.example/"};
  auto result = Policy::create(s);
  ASSERT_TRUE(std::holds_alternative<PolicyError>(result));
  EXPECT_EQ(std::get<PolicyError>(result).index, 1u);
}

TEST(PolicyValidationTest, PublicSuffixCheckIsConsulted) {
  auto s = listed_spec();
  s.allow_origins = {"https://*.github.io"};
  EXPECT_TRUE(std::holds_alternative<Policy>(Policy::create(s)));  // two labels: not known without a list
  const PublicSuffixCheck psl = [](std::string_view d) { return d == "github.io" || d == "com"; };
  EXPECT_TRUE(std::holds_alternative<PolicyError>(Policy::create(s, psl)));
  s.allow_origins = {"https://*.app.github.io"};
  EXPECT_TRUE(std::holds_alternative<Policy>(Policy::create(s, psl)));
}

TEST(PolicyValidationTest, LoopbackHttpOriginsMayUseCredentials) {
  auto s = listed_spec();
  s.allow_origins = {"http://localhost:*", "http://127.0.0.1:8081", "http://[::1]:3000"};
  EXPECT_TRUE(std::holds_alternative<Policy>(Policy::create(s)));
}

TEST(PolicyValidationTest, InsecureOriginsWithCredentialsNeedTheDangerousSwitch) {
  auto s = listed_spec();
  s.allow_origins = {"http://intranet.example"};
  EXPECT_TRUE(std::holds_alternative<PolicyError>(Policy::create(s)));
  s.dangerously_allow_insecure_origins_with_credentials = true;
  EXPECT_TRUE(std::holds_alternative<Policy>(Policy::create(s)));
}

TEST(PolicyValidationTest, LoneStarMeansAnyOriginAnsweredWithStar) {
  PolicySpec s;
  s.allow_origins = {"*"};
  const Policy p = make(s);
  EXPECT_EQ(p.spec().origins, PolicySpec::Origins::any);
  EXPECT_EQ(to_map(p.decide(actual("GET", "https://x.example").build())).at("Access-Control-Allow-Origin"), "*");
}

TEST(PolicyValidationTest, ConfiguredOriginsAreNormalizedBeforeMatching) {
  auto s = listed_spec();
  s.allow_origins = {"HTTPS://App.Example.com:443"};
  EXPECT_EQ(make(s).decide(actual("GET", "https://app.example.com").build()).kind, DecisionKind::actual_allowed);
}

}  // namespace
}  // namespace corsd::cors
