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

#include "corsd/config/detail/setting.hpp"
#include "corsd/config/policy_file.hpp"
#include "options.hpp"

namespace corsd::cli {

using config::Applies;
using config::Problem;
using config::Setting;
using config::Type;
using config::Value;

using ServerSetting = Setting<Options>;
using config::RouteSetting;
using CertificateSetting = Setting<http::TlsCertificate>;

// The settings of [server], [demo], [admin], [proxy] and [access_log].
std::span<const ServerSetting> server_settings();
// The keys of a [[routes]] table (corsd::config's); their flags make the
// one route of the command line.
using config::route_settings;

// The keys of a [[tls.certificates]] table: a certificate chosen by SNI.
std::span<const CertificateSetting> certificate_settings();

// The top-level tables of the config file.
using config::config_sections;

// Checking, parsing and formatting values (corsd::config's).
using config::check_value;
using config::default_text;
using config::format_value;
using config::parse_value;
using config::range_text;
using config::wrong_type;

// settings_table()
//
// Every setting as a Markdown table: what --help-settings prints and the
// README holds.
std::string settings_table();

}  // namespace corsd::cli
