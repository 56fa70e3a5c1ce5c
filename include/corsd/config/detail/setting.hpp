#pragma once
// File: corsd/config/detail/setting.hpp
// Internal: installed because corsd's own tools use it, but not part of the
// library's API; it may change in any release.
//
// A setting declared once: its config-file section and key, its flag, type,
// range, default and help. corsd's flags, its TOML reader, --help,
// --check-config and the README's table are all made from such
// declarations, and so are the [[routes]] keys every host of the library
// reads, so a key means the same wherever it is written.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace corsd::config {

enum class Type : std::uint8_t {
  boolean,
  integer,  // a whole number in [min, max]
  seconds,  // a number of seconds in [min, max] milliseconds
  text,
  path,     // text; relative to the config file's folder when written there
  choice,   // one of `choices`
  address,  // HOST:PORT, [IPV6]:PORT, or a bare PORT (localhost's)
  list,     // strings; a flag takes several, repeated or comma-separated
};

// Whether SIGHUP applies a changed value, or only a restart does.
enum class Applies : std::uint8_t { on_reload, on_restart };

// A value as flags and the file both give it; monostate: not set (an
// optional setting that is off).
using Value = std::variant<std::monostate, bool, std::int64_t, double, std::string, std::vector<std::string>>;

// What is wrong with a value, and how to write it instead.
struct Problem {
  std::string what;
  std::string fix;
};

template <typename Target>
struct Setting {
  std::string_view section = {};  // "server"; "routes" for a [[routes]] key
  std::string_view key = {};
  std::string_view flag = {};  // "--max-body"; empty: only in the config file
  Type type = Type::text;
  std::string_view help = {};
  Applies applies = Applies::on_reload;
  std::int64_t min = 0, max = 0;
  std::span<const std::string_view> choices = {};
  std::string_view default_text = {};  // when the default is not a constant ("one per core")
  bool flag_negates = false;           // --no-demo sets enabled = false
  // A check of each list element beyond its type (an IP address, say).
  std::optional<Problem> (*check_element)(std::string_view) = nullptr;
  // The value's place in Target, through Value.
  void (*store)(Target&, const Value&) = nullptr;
  Value (*load)(const Target&) = nullptr;
};

struct HostPort {
  std::string host;
  std::uint16_t port = 0;

  bool operator==(const HostPort&) const = default;
};

// parse_host_port()
//
// Parses "HOST:PORT", "[IPV6]:PORT" or a bare "PORT" (host "localhost").
std::optional<HostPort> parse_host_port(std::string_view text);

// seconds_to_ms()
//
// Converts seconds as written in flags and the config file.
std::chrono::milliseconds seconds_to_ms(double seconds);

// format_value()
//
// A value as the config file writes it: 10, 2.5, true, "localhost:8080",
// ["a", "b"]; "(off)" when not set.
std::string format_value(const Value& value);

// The parts of a setting that do not depend on its Target: what the
// templates below use.
struct SettingShape {
  Type type;
  std::int64_t min, max;
  std::span<const std::string_view> choices;
  std::optional<Problem> (*check_element)(std::string_view);
};

template <typename Target>
SettingShape shape_of(const Setting<Target>& s) {
  return {s.type, s.min, s.max, s.choices, s.check_element};
}

// Each takes a setting's shape; the templates below pass it.
std::optional<Problem> check_value(const SettingShape& s, const Value& value);
std::variant<Value, Problem> parse_value(const SettingShape& s, std::string_view text);
Problem wrong_type(const SettingShape& s);
std::string range_text(const SettingShape& s);

// check_value()
//
// Whether `value`, of the setting's type, is in its range or choices, and
// (for a list) whether each element passes the setting's element check.
template <typename Target>
std::optional<Problem> check_value(const Setting<Target>& s, const Value& value) {
  return check_value(shape_of(s), value);
}

// parse_value()
//
// `text` (a flag's argument) as a value of the setting's type, checked
// against the range or the choices.
template <typename Target>
std::variant<Value, Problem> parse_value(const Setting<Target>& s, std::string_view text) {
  return parse_value(shape_of(s), text);
}

// wrong_type()
//
// What to say of a value of the wrong type.
template <typename Target>
Problem wrong_type(const Setting<Target>& s) {
  return wrong_type(shape_of(s));
}

// range_text()
//
// What values a setting takes, for --help and the README: "0.001 to 86400",
// "info | debug".
template <typename Target>
std::string range_text(const Setting<Target>& s) {
  return range_text(shape_of(s));
}

// default_text()
//
// The setting's default, formatted.
template <typename Target>
std::string default_text(const Setting<Target>& s) {
  return s.default_text.empty() ? format_value(s.load(Target{})) : std::string(s.default_text);
}

}  // namespace corsd::config
