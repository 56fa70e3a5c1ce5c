#pragma once
// Every setting of corsd, declared once: its config-file section and key,
// its flag, type, range, default, help text, and whether a reload applies
// it. The flags, the config-file reader, --help, --check-config's listing,
// --help-settings (the README's table) and the reload's restart check are
// all made from these two tables, so they cannot disagree.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "options.hpp"

namespace corsd::cli {

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

using ServerSetting = Setting<Options>;
using RouteSetting = Setting<RouteConfig>;
using CertificateSetting = Setting<http::TlsCertificate>;

// The settings of [server], [demo], [admin], [proxy] and [access_log].
std::span<const ServerSetting> server_settings();
// The keys of a [[routes]] table; their flags make the one route of the
// command line.
std::span<const RouteSetting> route_settings();

// The keys of a [[tls.certificates]] table: a certificate chosen by SNI.
std::span<const CertificateSetting> certificate_settings();

// The top-level tables of the config file.
std::span<const std::string_view> config_sections();

// parse_value()
//
// `text` (a flag's argument) as a value of `type`, checked against the
// range or the choices.
std::variant<Value, Problem> parse_value(const ServerSetting& s, std::string_view text);
std::variant<Value, Problem> parse_value(const RouteSetting& s, std::string_view text);
std::variant<Value, Problem> parse_value(const CertificateSetting& s, std::string_view text);

// check_value()
//
// Whether `value`, of the setting's type, is in its range or choices, and
// (for a list) whether each element passes the setting's element check.
std::optional<Problem> check_value(const ServerSetting& s, const Value& value);
std::optional<Problem> check_value(const RouteSetting& s, const Value& value);
std::optional<Problem> check_value(const CertificateSetting& s, const Value& value);

// wrong_type()
//
// What to say of a value of the wrong type.
Problem wrong_type(const ServerSetting& s);
Problem wrong_type(const RouteSetting& s);
Problem wrong_type(const CertificateSetting& s);

// format_value()
//
// A value as the config file writes it: 10, 2.5, true, "localhost:8080",
// ["a", "b"]; "(off)" when not set.
std::string format_value(const Value& value);

// range_text()
//
// What values a setting takes, for --help and the README: "0.001 to 86400",
// "info | debug".
template <typename Target>
std::string range_text(const Setting<Target>& s);

// default_text()
//
// The setting's default, formatted.
std::string default_text(const ServerSetting& s);
std::string default_text(const RouteSetting& s);
std::string default_text(const CertificateSetting& s);

// settings_table()
//
// Every setting as a Markdown table: what --help-settings prints and the
// README holds.
std::string settings_table();

}  // namespace corsd::cli
