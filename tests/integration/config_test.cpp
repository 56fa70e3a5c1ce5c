// Configuration as users write it: every refusal names the file, the line
// and a fix; a valid multi-route file runs with each route's policy.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "corsd_process.hpp"
#include "policy_refusals.hpp"

namespace corsd::test {
namespace {

// Into the running test's own directory in the build tree (not /tmp, where
// every run would leave one behind).
std::string write_config(const std::string& name, const std::string& text) {
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  const auto dir =
      std::filesystem::path(CORSD_TEST_TMPDIR) / "config" / (std::string(test->test_suite_name()) + "." + test->name());
  std::filesystem::create_directories(dir);
  const std::string path = (dir / name).string();
  std::ofstream(path) << text;
  return path;
}

// What only corsd itself refuses: its server settings, upstreams, and route
// paths no normalized request path has. The policy mistakes every host
// refuses are in policy_refusals.hpp.
const Refusal kServerRefusals[] = {
    {"bad_listen", "[server]\nlisten = \"localhost\"\n", 2, "is not HOST:PORT"},
    // Requests are matched on their normalized path: these prefixes would never match.
    {"dot_segment_path", "[[routes]]\nallow_origins = [\"*\"]\npath = \"/a/../b\"\n", 3, "write \"/b\""},
    {"encoded_unreserved_path", "[[routes]]\nallow_origins = [\"*\"]\npath = \"/%7Euser\"\n", 3, "write \"/~user\""},
    {"control_byte_path", "[[routes]]\nallow_origins = [\"*\"]\npath = \"/a\\u0001b\"\n", 3, "is a control byte"},
    {"space_in_path", "[[routes]]\nallow_origins = [\"*\"]\npath = \"/a b\"\n", 3, "a space is %20"},
    {"timeout_too_small", "[server]\nheader_timeout = 0.0001\n", 2, "from 0.001 to 86400"},
    {"upstream_without_origins", "[[routes]]\npath = \"/api\"\nupstream = \"http://127.0.0.1:5000\"\n", 1,
     "has an upstream but no allow_origins"},
    {"upstream_with_a_path", "[[routes]]\nallow_origins = [\"*\"]\nupstream = \"http://127.0.0.1:5000/api\"\n", 3,
     "has a path"},
    {"upstream_not_http", "[[routes]]\nallow_origins = [\"*\"]\n\nupstream = \"ftp://api.example\"\n", 4,
     "is not an http:// or https:// URL"},
    {"proxy_timeout_out_of_range", "[proxy]\nconnect_timeout = 0\n", 2, "from 0.001 to 86400"},
    {"unknown_proxy_key", "[proxy]\nidle_timout = 3\n", 2, "did you mean \"idle_timeout\""},
    {"trusted_proxy_not_an_address", "[proxy]\ntrusted_proxies = [\n  \"10.0.0.2\",\n  \"lb.internal\",\n]\n", 4,
     "is not an IP address"},
};

TEST(ConfigValidationTest, EachRefusalNamesFileLineRuleAndFix) {
  std::vector<Refusal> refusals(std::begin(kPolicyRefusals), std::end(kPolicyRefusals));
  refusals.insert(refusals.end(), std::begin(kServerRefusals), std::end(kServerRefusals));
  for (const Refusal& r : refusals) {
    const std::string path = write_config(std::string(r.name) + ".toml", r.toml);
    const RunResult run = run_corsd({"--check-config", path});
    EXPECT_EQ(run.status, 2) << r.name << ": " << run.output;
    EXPECT_NE(run.output.find(path + ":" + std::to_string(r.line) + ":"), std::string::npos)
        << r.name << " should name line " << r.line << ": " << run.output;
    EXPECT_NE(run.output.find(r.says), std::string::npos) << r.name << ": " << run.output;
    EXPECT_NE(run.output.find("\n  fix: "), std::string::npos) << r.name << ": " << run.output;
  }
}

TEST(ConfigValidationTest, NothingStartsWithABadConfig) {
  const std::string path = write_config("bad.toml", "[[routes]]\nallow_origins = [\"*\"]\nallow_credentials = true\n");
  const RunResult run = run_corsd({"--config", path, "--listen", "127.0.0.1:0", "--no-demo"}, 5s);
  EXPECT_EQ(run.status, 2);
  EXPECT_EQ(run.output.find("ready"), std::string::npos);
}

TEST(ConfigValidationTest, PolicyFlagsAreCheckedLikeTheFile) {
  const RunResult run = run_corsd({"--allow-origin", "*", "--allow-credentials", "--listen", "127.0.0.1:0"});
  EXPECT_EQ(run.status, 2);
  EXPECT_NE(run.output.find("--allow-origin"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("fix: "), std::string::npos) << run.output;
}

TEST(ConfigValidationTest, DebugLogToAClosedPipeDoesNotKillTheServer) {
  CorsdProcess corsd({"--log-level", "debug", "--threads", "1"}, true);
  for (int i = 0; i < 3; ++i) {
    const auto r = exchange(corsd.api_port(), "GET / HTTP/1.1\r\nHost: a\r\nOrigin: null\r\n\r\n");  // logged
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(corsd.stop(SIGTERM), 0);
}

TEST(ConfigValidationTest, CheckConfigPrintsTheEffectivePolicies) {
  const std::string path = write_config(
      "good.toml",
      "[[routes]]\npath = \"/api\"\nallow_origins = [\"HTTPS://App.Example.com:443\", \"http://localhost:*\"]\n"
      "allow_credentials = true\nallow_headers = [\"Authorization\"]\nmax_age = 600\n");
  const RunResult run = run_corsd({"--check-config", path});
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("route \"/api\":"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("origins: https://app.example.com, http://localhost:*"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("Access-Control-Allow-Headers: authorization"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("config OK"), std::string::npos);
}

TEST(ConfigValidationTest, AFileWithoutRoutesIsRefusedUnlessFlagsGiveThePolicy) {
  const std::string path = write_config("no-routes.toml", "[server]\nthreads = 1\n");
  const RunResult run = run_corsd({"--check-config", path});
  EXPECT_EQ(run.status, 2) << run.output;
  EXPECT_NE(run.output.find("no [[routes]]"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("fix:"), std::string::npos) << run.output;
  const RunResult with_flags = run_corsd({"--check-config", path, "--allow-origin", "https://app.example.com"});
  EXPECT_EQ(with_flags.status, 0) << with_flags.output;
  const RunResult empty = run_corsd({"--check-config", write_config("empty.toml", "")});
  EXPECT_EQ(empty.status, 2) << empty.output;
}

// A config file states what it serves: the demo runs where the file has a
// [demo] section or a --demo-* flag asks for it, never by default.
TEST(ConfigValidationTest, WithAConfigFileTheDemoRunsOnlyWhenAskedFor) {
  const std::string route = "[[routes]]\npath = \"/\"\nallow_origins = [\"https://app.example.com\"]\n";
  const auto demo_enabled = [](const std::vector<std::string>& args) {
    const RunResult run = run_corsd(args);
    EXPECT_EQ(run.status, 0) << run.output;
    if (run.output.find("[demo] enabled = true") != std::string::npos) return true;
    EXPECT_NE(run.output.find("[demo] enabled = false"), std::string::npos) << run.output;
    return false;
  };
  const std::string without = write_config("no-demo-section.toml", route);
  EXPECT_FALSE(demo_enabled({"--check-config", without}));
  EXPECT_TRUE(demo_enabled({"--check-config", without, "--demo-listen", "127.0.0.1:0"}));
  EXPECT_FALSE(demo_enabled({"--check-config", without, "--demo-listen", "127.0.0.1:0", "--no-demo"}));
  EXPECT_TRUE(demo_enabled({"--check-config", write_config("demo-section.toml", "[demo]\n" + route)}));
  EXPECT_FALSE(demo_enabled({"--check-config", write_config("demo-off.toml", "[demo]\nenabled = false\n" + route)}));
}

// The README points at examples/: each must stay a valid config.
TEST(ConfigValidationTest, EveryExampleIsValid) {
  std::size_t checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(CORSD_EXAMPLES_DIR)) {
    if (entry.path().extension() != ".toml") continue;
    const RunResult run = run_corsd({"--check-config", entry.path().string()});
    EXPECT_EQ(run.status, 0) << entry.path() << "\n" << run.output;
    EXPECT_NE(run.output.find("config OK"), std::string::npos) << entry.path();
    ++checked;
  }
  EXPECT_GE(checked, 5u);
}

TEST(ConfigValidationTest, CheckConfigShowsEachRoutesUpstream) {
  const std::string path = write_config("proxy.toml",
                                        "[[routes]]\npath = \"/api\"\nupstream = \"http://127.0.0.1:5000\"\n"
                                        "host_header = \"upstream\"\nallow_origins = [\"https://app.example.com\"]\n"
                                        "[[routes]]\npath = \"/echo\"\nallow_origins = [\"*\"]\n");
  const RunResult run = run_corsd({"--check-config", path});
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("route \"/api\":\n  upstream: http://127.0.0.1:5000 (Host: 127.0.0.1:5000)\n"),
            std::string::npos)
      << run.output;
  const std::size_t echo = run.output.find("route \"/echo\":"), api = run.output.find("route \"/api\":");
  ASSERT_LT(echo, api);  // longest prefix first
  EXPECT_EQ(run.output.substr(echo, api - echo).find("upstream"), std::string::npos) << run.output;
}

const char* kMultiRoute = R"(
[server]
log_level = "debug"

[[routes]]
path = "/api"
allow_origins = ["https://app.example.com", "https://*.preview.example.com"]
allow_credentials = true
allow_methods = ["PUT", "DELETE"]
allow_headers = ["content-type", "authorization"]
expose_headers = ["x-request-id"]
max_age = 600

[[routes]]
path = "/api/public"
allow_origins = ["*"]

[[routes]]
path = "/legacy"
allow_origins = ["https://old.example.com"]
allow_methods = ["PUT"]
preflight_passthrough = true
)";

std::string preflight(const std::string& path, const std::string& origin, const std::string& method,
                      const std::string& headers = {}) {
  std::string r = "OPTIONS " + path + " HTTP/1.1\r\nHost: a\r\nOrigin: " + origin +
                  "\r\nAccess-Control-Request-Method: " + method + "\r\n";
  if (!headers.empty()) r += "Access-Control-Request-Headers: " + headers + "\r\n";
  return r + "\r\n";
}

class MultiRouteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    corsd_ = std::make_unique<CorsdProcess>(
        std::vector<std::string>{"--config", write_config("multi.toml", kMultiRoute), "--threads", "1"});
  }
  std::unique_ptr<CorsdProcess> corsd_;
};

TEST_F(MultiRouteTest, CredentialedRouteAnswersWithTheExactOrigin) {
  const auto r = exchange(corsd_->api_port(), preflight("/api/items", "https://pr-7.preview.example.com", "PUT",
                                                        "authorization,content-type"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->header("access-control-allow-origin"), "https://pr-7.preview.example.com");
  EXPECT_EQ(r->header("access-control-allow-credentials"), "true");
  EXPECT_EQ(r->header("access-control-allow-methods"), "PUT, DELETE");
  EXPECT_EQ(r->header("access-control-max-age"), "600");
  const auto get =
      exchange(corsd_->api_port(), "GET /api/items HTTP/1.1\r\nHost: a\r\nOrigin: https://app.example.com\r\n\r\n");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->header("access-control-allow-origin"), "https://app.example.com");
  EXPECT_EQ(get->header("access-control-expose-headers"), "x-request-id");
  EXPECT_EQ(get->header("vary"), "Origin");
}

TEST_F(MultiRouteTest, LongerPrefixIsPublic) {
  const auto r =
      exchange(corsd_->api_port(), "GET /api/public/x HTTP/1.1\r\nHost: a\r\nOrigin: https://anyone.example\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("access-control-allow-origin"), "*");
  EXPECT_FALSE(r->has("access-control-allow-credentials"));
}

TEST_F(MultiRouteTest, PathWithoutRouteGetsNoCorsHeaders) {
  const auto r = exchange(corsd_->api_port(), preflight("/other", "https://app.example.com", "PUT"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);  // the echo API answered the OPTIONS
  EXPECT_FALSE(r->has("access-control-allow-origin"));
}

TEST_F(MultiRouteTest, PassthroughRouteLetsTheApplicationAnswerThePreflight) {
  const auto r = exchange(corsd_->api_port(), preflight("/legacy/x", "https://old.example.com", "PUT"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("Method: OPTIONS"), std::string::npos);
  EXPECT_EQ(r->header("access-control-allow-origin"), "https://old.example.com");
}

TEST_F(MultiRouteTest, RejectionsAreExplainedInTheDebugLog) {
  const auto r = exchange(corsd_->api_port(), preflight("/api", "https://evilexample.com", "PUT"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->body, "CORS preflight rejected: origin_not_allowed\n");
  EXPECT_FALSE(r->has("access-control-allow-origin"));
  const auto h = exchange(corsd_->api_port(), preflight("/api", "https://app.example.com", "PUT", "x-debug"));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->body, "CORS preflight rejected: header_not_allowed: x-debug\n");
  const std::string log = corsd_->output(3s, "x-debug");
  EXPECT_NE(log.find("corsd: debug: CORS rejected: route=/api origin=https://evilexample.com method=OPTIONS "
                     "request-method=PUT reason=origin_not_allowed need: add \"https://evilexample.com\" to "
                     "allow_origins\n"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("reason=header_not_allowed need: add \"x-debug\" to allow_headers"), std::string::npos) << log;
}

}  // namespace
}  // namespace corsd::test
