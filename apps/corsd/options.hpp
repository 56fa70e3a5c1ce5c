#pragma once
// corsd's effective configuration: defaults, then a TOML file (--config),
// then command-line flags, each overriding the one before.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "corsd/config/policy_file.hpp"
#include "corsd/cors/policy.hpp"
#include "corsd/http/access_log.hpp"
#include "corsd/http/limits.hpp"
#include "corsd/http/tls.hpp"
#include "corsd/proxy/upstream.hpp"

namespace corsd::cli {

using config::HostHeader;
using config::HostPort;
using config::parse_host_port;
using config::seconds_to_ms;
// One route as written (corsd::config's), and where.
using RouteConfig = config::RouteSpec;

enum class LogLevel { info, debug };

struct AccessLogOptions {
  std::string path;  // empty: off; "-": standard output
  http::AccessLogFormat format = http::AccessLogFormat::json;

  bool operator==(const AccessLogOptions&) const = default;
};

struct Options {
  HostPort api{"localhost", 8080};
  HostPort demo{"localhost", 8081};
  std::optional<HostPort> admin;  // the admin endpoints' listener; none: off
  bool demo_enabled = true;
  std::string demo_root;
  std::string jquery;
  std::string demo_api_origin;  // what the demo page calls; empty: the API's own URL
  // PEM files of the API's and the demo's certificate and key; both empty:
  // plain HTTP.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ocsp;  // a DER OCSP response stapled for tls_cert
  bool http2 = true;     // ALPN offers h2 on the HTTPS listeners
  // [[tls.certificates]]: more certificates, each for its SNI names.
  std::vector<http::TlsCertificate> sni_certificates;
  unsigned threads = 1;
  http::Limits limits;
  proxy::ProxySettings proxy;
  LogLevel log_level = LogLevel::info;
  AccessLogOptions access_log;
  // Empty: the demo's policy (the blog post's) on "/".
  std::vector<RouteConfig> routes;
  // --check-config: validate, print the effective policies, exit.
  bool check_only = false;
};

// The outcome of parse(): run with `options`, or exit with `exit_code`
// (0 after --help or --version, which parse() has printed), after printing
// `error` when there is one.
struct Parsed {
  Options options;
  std::optional<int> exit_code;
  std::string error;  // with location, rule and fix
};

// parse()
//
// The effective configuration of this command line: defaults, the config
// file, the flags. Prints nothing but --help and --version, so a reload can
// run it again and report its error its own way.
Parsed parse(int argc, char** argv);

// restart_only_changes()
//
// The settings that differ between `running` and `next` but take effect
// only on restart (listeners, threads, limits, the demo, the log level),
// as "[section] key".
std::vector<std::string> restart_only_changes(const Options& running, const Options& next);

// tls_certificates()
//
// The certificates the listeners present, none for plain HTTP.
std::vector<http::TlsCertificate> tls_certificates(const Options& options);

// describe_settings()
//
// Every setting of `options` but the routes, one "[section] key = value"
// line each: what --check-config prints.
std::string describe_settings(const Options& options);

}  // namespace corsd::cli
