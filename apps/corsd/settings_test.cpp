#include "settings.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace corsd::cli {
namespace {

namespace fs = std::filesystem;

// A value of the setting's type other than its default, as a flag's text.
template <typename Target>
std::string sample_text(const Setting<Target>& s) {
  switch (s.type) {
    case Type::integer: return std::to_string(s.max);
    case Type::seconds: return "2.5";
    case Type::choice: return std::string(s.choices.back());
    case Type::address: return "127.0.0.1:9999";
    case Type::list: return s.check_element ? "10.0.0.7" : "x-sample";
    case Type::path: return "/srv/sample";
    default: return "sample";
  }
}

// The same value as the config file writes it.
template <typename Target>
std::string sample_toml(const Setting<Target>& s) {
  if (s.type == Type::boolean) return s.flag_negates ? "false" : "true";
  if (s.type == Type::integer || s.type == Type::seconds) return sample_text(s);
  if (s.type == Type::list) return "[\"" + sample_text(s) + "\"]";
  return "\"" + sample_text(s) + "\"";
}

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("corsd-settings-test-" + std::to_string(::getpid()))) {
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string write(const std::string& name, const std::string& text) const {
    const auto file = path_ / name;
    std::ofstream(file) << text;
    return file.string();
  }

 private:
  fs::path path_;
};

Parsed parse_args(std::vector<std::string> args) {
  args.insert(args.begin(), "corsd");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parse(static_cast<int>(argv.size()), argv.data());
}

TEST(SettingsTest, EveryNameAndFlagIsDeclaredOnce) {
  std::set<std::string> keys, flags;
  const auto sections = config_sections();
  const auto add = [&](const auto& s) {
    EXPECT_TRUE(keys.insert(std::string(s.section) + "." + std::string(s.key)).second) << s.key;
    if (!s.flag.empty()) {
      EXPECT_TRUE(flags.insert(std::string(s.flag)).second) << s.flag;
    }
    EXPECT_NE(std::find(sections.begin(), sections.end(), s.section), sections.end()) << s.section;
    EXPECT_FALSE(s.help.empty()) << s.key;
    if (s.type == Type::choice) {
      EXPECT_GE(s.choices.size(), 2u) << s.key;
    }
    if (s.type == Type::integer || s.type == Type::seconds) {
      EXPECT_LT(s.min, s.max) << s.key;
    }
  };
  for (const auto& s : server_settings()) add(s);
  for (const auto& s : route_settings()) add(s);
}

// The flag and the config key of each setting land on the same value:
// both come from the one declaration.
// The setting a setting is only valid with (a certificate and its key), as
// flag and as key; empty when there is none.
std::pair<std::string, std::string> partner_of(const ServerSetting& s) {
  if (s.key == "tls_cert") return {"--tls-key", "tls_key"};
  if (s.key == "tls_key") return {"--tls-cert", "tls_cert"};
  return {};
}

TEST(SettingsTest, EachFlagAndItsConfigKeyGiveTheSameValue) {
  const TempDir dir;
  for (const ServerSetting& s : server_settings()) {
    if (s.flag.empty()) continue;
    std::vector<std::string> flag_args{"--no-demo", std::string(s.flag)};
    if (s.type == Type::boolean) flag_args = {std::string(s.flag)};
    if (s.type != Type::boolean) flag_args.push_back(sample_text(s));
    const auto [partner_flag, partner_key] = partner_of(s);
    if (!partner_flag.empty()) flag_args.insert(flag_args.end(), {partner_flag, "/partner.pem"});
    const Parsed by_flag = parse_args(flag_args);
    ASSERT_TRUE(by_flag.error.empty()) << s.flag << ": " << by_flag.error;

    std::string toml = "[" + std::string(s.section) + "]\n" + std::string(s.key) + " = " + sample_toml(s) + "\n";
    if (!partner_key.empty()) toml += partner_key + " = \"/partner.pem\"\n";
    if (s.section != "demo") toml += "[demo]\nenabled = false\n";
    toml += "[[routes]]\nallow_origins = [\"*\"]\n";
    const Parsed by_file = parse_args({"--config", dir.write("one.toml", toml)});
    ASSERT_TRUE(by_file.error.empty()) << s.key << ": " << by_file.error;

    EXPECT_EQ(s.load(by_flag.options), s.load(by_file.options)) << s.key;
    EXPECT_NE(s.load(by_flag.options), s.load(Options{})) << s.key << " kept its default";
  }
}

TEST(SettingsTest, RouteFlagsAndKeysGiveTheSameRoute) {
  const TempDir dir;
  for (const RouteSetting& s : route_settings()) {
    if (s.flag.empty() || s.key == "allow_origins") continue;
    std::vector<std::string> args{"--allow-origin", "https://a.example", std::string(s.flag)};
    if (s.type != Type::boolean) args.push_back(sample_text(s));
    if (s.key == "upstream") args.back() = "http://127.0.0.1:5000";
    const Parsed by_flag = parse_args(args);
    ASSERT_TRUE(by_flag.error.empty()) << s.flag << ": " << by_flag.error;
    ASSERT_EQ(by_flag.options.routes.size(), 1u);

    const std::string value = s.key == "upstream" ? "\"http://127.0.0.1:5000\"" : sample_toml(s);
    const std::string toml =
        "[[routes]]\nallow_origins = [\"https://a.example\"]\n" + std::string(s.key) + " = " + value + "\n";
    const Parsed by_file = parse_args({"--config", dir.write("route.toml", toml)});
    ASSERT_TRUE(by_file.error.empty()) << s.key << ": " << by_file.error;
    EXPECT_EQ(s.load(by_flag.options.routes[0]), s.load(by_file.options.routes[0])) << s.key;
  }
}

TEST(SettingsTest, FlagsHaveTheRangesOfTheConfigFile) {
  for (const auto& [flag, value] : std::vector<std::pair<std::string, std::string>>{{"--max-body", "-1"},
                                                                                    {"--max-body", "2000000000000"},
                                                                                    {"--max-connections", "0"},
                                                                                    {"--max-connections", "2000000"},
                                                                                    {"--header-timeout", "nan"},
                                                                                    {"--shutdown-timeout", "86401"},
                                                                                    {"--log-level", "loud"},
                                                                                    {"--trusted-proxy", "lb.internal"},
                                                                                    {"--access-log-format", "xml"}}) {
    const Parsed p = parse_args({flag, value});
    EXPECT_EQ(p.exit_code.value_or(0), 2) << flag << " " << value;
    EXPECT_NE(p.error.find(flag), std::string::npos) << p.error;
  }
}

// A numeric value as a flag's text: seconds settings keep their range in
// milliseconds.
template <typename Target>
std::string flag_text(const Setting<Target>& s, std::int64_t value) {
  if (s.type == Type::integer) return std::to_string(value);
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", static_cast<double>(value) / 1000.0);
  return text;
}

// Every numeric setting with a flag at the edges of its range: exactly its
// min and its max are taken, one past either (one unit, or a millisecond)
// is refused with exit status 2 and the flag named.
template <typename Target>
void expect_range_edges(const Setting<Target>& s, const std::vector<std::string>& with) {
  if (s.flag.empty() || (s.type != Type::integer && s.type != Type::seconds)) return;
  const std::string flag(s.flag);
  const auto args = [&](std::int64_t value) {
    std::vector<std::string> a = with;
    a.insert(a.end(), {flag, flag_text(s, value)});
    return a;
  };
  for (const std::int64_t at : {s.min, s.max}) {
    const Parsed p = parse_args(args(at));
    EXPECT_FALSE(p.exit_code) << flag << " " << flag_text(s, at) << ": " << p.error;
  }
  for (const std::int64_t past : {s.min - 1, s.max + 1}) {
    const Parsed p = parse_args(args(past));
    EXPECT_EQ(p.exit_code.value_or(0), 2) << flag << " " << flag_text(s, past);
    EXPECT_NE(p.error.find(flag), std::string::npos) << p.error;
  }
}

TEST(SettingsTest, EveryRangeIsTakenAtItsEdgesAndRefusedOnePast) {
  std::size_t checked = 0;
  for (const ServerSetting& s : server_settings()) {
    expect_range_edges(s, {});
    checked += !s.flag.empty() && (s.type == Type::integer || s.type == Type::seconds);
  }
  for (const RouteSetting& s : route_settings()) {
    expect_range_edges(s, {"--allow-origin", "https://app.example.com"});
    checked += !s.flag.empty() && (s.type == Type::integer || s.type == Type::seconds);
  }
  EXPECT_GE(checked, 15u);
}

TEST(SettingsTest, RestartOnlyChangesAreNamedByKey) {
  Options a, b;
  b.threads = a.threads + 1;
  b.limits.idle_timeout = a.limits.idle_timeout * 2;
  b.proxy.idle_connections = a.proxy.idle_connections + 1;  // applied by a reload
  b.access_log.path = "/var/log/corsd/access.log";          // idem
  EXPECT_EQ(restart_only_changes(a, b), (std::vector<std::string>{"[server] threads", "[server] idle_timeout"}));
}

TEST(SettingsTest, CheckConfigListsEverySetting) {
  const std::string listing = describe_settings(Options{});
  for (const ServerSetting& s : server_settings()) {
    EXPECT_NE(listing.find("[" + std::string(s.section) + "] " + std::string(s.key) + " = "), std::string::npos)
        << s.key;
  }
  EXPECT_NE(listing.find("[server] idle_timeout = 30\n"), std::string::npos) << listing;
  EXPECT_NE(listing.find("[admin] listen = (off)\n"), std::string::npos) << listing;
}

// The README's table is --help-settings' output, so the two never drift:
// after changing a setting, paste the output of `build/corsd --help-settings`.
TEST(SettingsTest, TheReadmeTableIsTheDeclaredOne) {
  std::ifstream readme(CORSD_SOURCE_DIR "/README.md");
  std::stringstream text;
  text << readme.rdbuf();
  EXPECT_NE(text.str().find(settings_table()), std::string::npos)
      << "README.md's settings table is out of date: run scripts/update-readme-settings. The declared one:\n"
      << settings_table();
}

}  // namespace
}  // namespace corsd::cli
