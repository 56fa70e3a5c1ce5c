// corsd::config as a host server uses it: the policies of a corsd config
// file, refused with the same "FILE:LINE:", rule and fix as corsd's own
// --check-config (the cases are shared with tests/integration/config_test).

#include "corsd/config/policy_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "policy_refusals.hpp"

namespace corsd::config {
namespace {

class PolicyFileTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("corsd-policy-file-test-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
};

std::string error_of(const std::variant<cors::RouteTable, std::string>& loaded) {
  const auto* e = std::get_if<std::string>(&loaded);
  return e ? *e : std::string();
}

TEST_F(PolicyFileTest, LoadsEveryRouteWithItsPolicy) {
  const std::string path = write("api.toml",
                                 "[server]\nlisten = \"127.0.0.1:9\"\n\n"  // corsd's own: a host ignores it
                                 "[[routes]]\npath = \"/api/\"\nallow_origins = [\"https://app.example.com\"]\n"
                                 "allow_credentials = true\nallow_methods = [\"PUT\", \"DELETE\"]\nmax_age = 600\n\n"
                                 "[[routes]]\npath = \"/\"\nallow_origins = [\"*\"]\n");
  auto loaded = load_policy_file(path);
  ASSERT_EQ(error_of(loaded), "");
  const auto& table = std::get<cors::RouteTable>(loaded);
  ASSERT_EQ(table.routes().size(), 2u);
  const cors::Route* api = table.match("/api/items");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->prefix, "/api/");
  EXPECT_EQ(api->id, 0u);  // its place in the file
  const cors::Route* rest = table.match("/other");
  ASSERT_NE(rest, nullptr);
  EXPECT_EQ(rest->id, 1u);
}

TEST_F(PolicyFileTest, EachRefusalNamesFileLineRuleAndFix) {
  for (const test::Refusal& r : test::kPolicyRefusals) {
    const std::string path = write(std::string(r.name) + ".toml", r.toml);
    const std::string error = error_of(load_policy_file(path));
    EXPECT_NE(error.find(path + ":" + std::to_string(r.line) + ":"), std::string::npos)
        << r.name << " should name line " << r.line << ": " << error;
    EXPECT_NE(error.find(r.says), std::string::npos) << r.name << ": " << error;
    EXPECT_NE(error.find("\n  fix: "), std::string::npos) << r.name << ": " << error;
  }
}

TEST_F(PolicyFileTest, AnUpstreamIsRefusedSinceAHostAnswersItself) {
  const std::string path =
      write("proxy.toml", "[[routes]]\nallow_origins = [\"*\"]\nupstream = \"http://127.0.0.1:5000\"\n");
  const std::string error = error_of(load_policy_file(path));
  EXPECT_NE(error.find(path + ":3: route \"/\": upstream: only corsd's proxy forwards"), std::string::npos) << error;
}

TEST_F(PolicyFileTest, AFileWithoutRoutesIsAnErrorThatSaysWhatToAdd) {
  const std::string path = write("empty.toml", "[server]\nthreads = 2\n");
  const std::string error = error_of(load_policy_file(path));
  EXPECT_NE(error.find("no [[routes]]"), std::string::npos) << error;
  EXPECT_NE(error.find("fix: add a [[routes]] table"), std::string::npos) << error;
}

TEST_F(PolicyFileTest, AnUnknownTableIsRefusedWithTheNearestName) {
  const std::string path = write("typo.toml", "[[route]]\nallow_origins = [\"*\"]\n");
  const std::string error = error_of(load_policy_file(path));
  EXPECT_NE(error.find(path + ":1: unknown key \"route\""), std::string::npos) << error;
  EXPECT_NE(error.find("did you mean \"routes\"?"), std::string::npos) << error;
}

TEST_F(PolicyFileTest, AMissingFileSaysSo) {
  const std::string error = error_of(load_policy_file((dir_ / "nowhere.toml").string()));
  EXPECT_NE(error.find("nowhere.toml: cannot read the file"), std::string::npos) << error;
}

TEST_F(PolicyFileTest, RouteKeysAreDeclaredOnce) {
  std::set<std::string_view> keys;
  for (const RouteSetting& s : route_settings()) EXPECT_TRUE(keys.insert(s.key).second) << s.key;
  EXPECT_TRUE(keys.contains("allow_origins"));
  EXPECT_TRUE(keys.contains("upstream"));
}

}  // namespace
}  // namespace corsd::config
