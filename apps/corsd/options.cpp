#include "options.hpp"

#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <thread>

#include "config_file.hpp"

#ifndef CORSD_VERSION
#define CORSD_VERSION "0.0.0"
#endif
#ifndef CORSD_DEFAULT_DEMO_ROOT
#define CORSD_DEFAULT_DEMO_ROOT "web/demo"
#endif
#ifndef CORSD_DEFAULT_JQUERY
#define CORSD_DEFAULT_JQUERY "node_modules/jquery/dist/jquery.min.js"
#endif

namespace corsd::cli {
namespace {

std::optional<std::uint16_t> parse_port(std::string_view s) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// A CLI11 validator for HOST:PORT flags, so a typo is reported with the flag's name.
const CLI::Validator kHostPort(
    [](std::string& value) {
      return parse_host_port(value) ? std::string() : "expected HOST:PORT, [IPV6]:PORT or PORT, got \"" + value + "\"";
    },
    "HOST:PORT");

double seconds(std::chrono::milliseconds ms) { return static_cast<double>(ms.count()) / 1000.0; }

// A number of seconds from `min` to a day. CLI::Range lets "nan" through
// (every comparison with it is false), which would cut every wait short.
CLI::Validator seconds_from(double min) {
  const std::string range = std::string(min > 0 ? "0.001" : "0") + " to 86400";
  return CLI::Validator(
      [min, range](std::string& text) -> std::string {
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || *end != '\0' || !std::isfinite(value) || value < min || value > 86400) {
          return "expected seconds from " + range + ", got \"" + text + "\"";
        }
        return {};
      },
      std::string("SECONDS in [") + (min > 0 ? "0.001" : "0") + " - 86400]");
}

}  // namespace

std::chrono::milliseconds seconds_to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000.0));
}

std::optional<HostPort> parse_host_port(std::string_view text) {
  if (auto port = parse_port(text)) return HostPort{"localhost", *port};
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // IPv6 needs brackets
  }
  const auto number = parse_port(port);
  if (host.empty() || !number) return std::nullopt;
  return HostPort{std::string(host), *number};
}

namespace {

// What the command line said, kept apart from Options so that only the flags
// actually given override the config file.
struct Flags {
  std::string api = "localhost:8080", demo = "localhost:8081", admin;
  bool no_demo = false;
  std::string demo_root = CORSD_DEFAULT_DEMO_ROOT, jquery = CORSD_DEFAULT_JQUERY;
  unsigned threads = 1;
  std::uint64_t max_body = http::Limits{}.body_bytes;
  std::size_t max_header_bytes = http::Limits{}.header_bytes;
  std::size_t max_connections = http::Limits{}.connections_per_thread;
  double header_timeout = seconds(http::Limits{}.header_timeout);
  double body_timeout = seconds(http::Limits{}.body_timeout);
  double idle_timeout = seconds(http::Limits{}.idle_timeout);
  double shutdown_timeout = seconds(http::Limits{}.shutdown_grace);
  std::string log_level = "info";
  std::string demo_api_origin;
  std::string upstream, host_header = "client";
  std::vector<std::string> trusted_proxies;
  double upstream_connect_timeout = seconds(proxy::ProxySettings{}.connect_timeout);
  double upstream_response_timeout = seconds(proxy::ProxySettings{}.response_timeout);
  double upstream_idle_timeout = seconds(proxy::ProxySettings{}.idle_timeout);
  std::size_t upstream_idle_connections = proxy::ProxySettings{}.idle_connections;
  std::string config, check_config;
  std::vector<std::string> allow_origins, allow_methods, allow_headers, expose_headers;
  bool allow_credentials = false, allow_private_network = false, preflight_passthrough = false;
  unsigned max_age = 0;
};

bool given(const CLI::App& app, const char* name) { return app.count(name) > 0; }

void add_server_flags(CLI::App& app, Flags& f) {
  app.add_option("--listen", f.api, "Address of the API origin")->check(kHostPort)->capture_default_str();
  app.add_option("--demo-listen", f.demo, "Address of the demo page's origin")->check(kHostPort)->capture_default_str();
  app.add_option("--admin-listen", f.admin,
                 "Address of /metrics, /livez and /readyz (off unless given; a bare PORT is localhost's)")
      ->check(kHostPort);
  app.add_flag("--no-demo", f.no_demo, "Serve the API only, not the demo page");
  app.add_option("--demo-root", f.demo_root, "Folder holding the demo's index.html")->capture_default_str();
  app.add_option("--jquery", f.jquery, "jQuery file the demo page loads")->capture_default_str();
  app.add_option("--demo-api-origin", f.demo_api_origin,
                 "Origin the demo page calls (default: the API's own, --listen)");
  app.add_option("--threads", f.threads, "Worker threads, each with its own event loop (default: one per core)")
      ->check(CLI::Range(1u, 256u));
  app.add_option("--max-body", f.max_body, "Largest request body in bytes; larger gets 413")->capture_default_str();
  app.add_option("--max-header-bytes", f.max_header_bytes, "Largest request header block; larger gets 431")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1024 * 1024}))
      ->capture_default_str();
  app.add_option("--max-connections", f.max_connections, "Open connections per thread")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  const CLI::Validator seconds_range = seconds_from(0.001);
  app.add_option("--header-timeout", f.header_timeout, "Seconds a client has to send a request's headers")
      ->check(seconds_range)
      ->capture_default_str();
  app.add_option("--body-timeout", f.body_timeout, "Longest pause in seconds while a body arrives")
      ->check(seconds_range)
      ->capture_default_str();
  app.add_option("--idle-timeout", f.idle_timeout, "Seconds a keep-alive connection may wait for its next request")
      ->check(seconds_range)
      ->capture_default_str();
  app.add_option("--shutdown-timeout", f.shutdown_timeout,
                 "Seconds requests in flight get to finish after SIGINT/SIGTERM")
      ->check(seconds_from(0))
      ->capture_default_str();
  app.add_option("--log-level", f.log_level, "info, or debug to log every CORS rejection with its reason")
      ->check(CLI::IsMember({"info", "debug"}))
      ->capture_default_str();
}

void add_proxy_flags(CLI::App& app, Flags& f) {
  const char* group = "Reverse proxy (for routes with an upstream)";
  const CLI::Validator seconds_range = seconds_from(0.001);
  app.add_option("--upstream", f.upstream,
                 "Forward every path to this API (http://HOST:PORT) with the policy's CORS; needs --allow-origin")
      ->group(group);
  app.add_option("--host-header", f.host_header, "Host sent upstream: the client's, or the upstream's own")
      ->check(CLI::IsMember({"client", "upstream"}))
      ->capture_default_str()
      ->group(group);
  app.add_option("--trusted-proxy", f.trusted_proxies,
                 "Peer address whose X-Forwarded-* fields are kept (repeat or separate with commas)")
      ->delimiter(',')
      ->group(group);
  app.add_option("--upstream-connect-timeout", f.upstream_connect_timeout, "Seconds to connect to an upstream")
      ->check(seconds_range)
      ->capture_default_str()
      ->group(group);
  app.add_option("--upstream-response-timeout", f.upstream_response_timeout,
                 "Longest silence of an upstream in seconds while its answer is awaited")
      ->check(seconds_range)
      ->capture_default_str()
      ->group(group);
  app.add_option("--upstream-idle-timeout", f.upstream_idle_timeout,
                 "Seconds an idle upstream connection is kept for reuse")
      ->check(seconds_range)
      ->capture_default_str()
      ->group(group);
  app.add_option("--upstream-idle-connections", f.upstream_idle_connections,
                 "Idle upstream connections kept per thread and upstream (0: no reuse)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{10000}))
      ->capture_default_str()
      ->group(group);
}

void apply_proxy_flags(const CLI::App& app, const Flags& f, Options& o) {
  if (given(app, "--demo-api-origin")) o.demo_api_origin = f.demo_api_origin;
  if (given(app, "--trusted-proxy")) o.proxy.trusted_proxies = f.trusted_proxies;
  if (given(app, "--upstream-connect-timeout")) o.proxy.connect_timeout = seconds_to_ms(f.upstream_connect_timeout);
  if (given(app, "--upstream-response-timeout")) o.proxy.response_timeout = seconds_to_ms(f.upstream_response_timeout);
  if (given(app, "--upstream-idle-timeout")) o.proxy.idle_timeout = seconds_to_ms(f.upstream_idle_timeout);
  if (given(app, "--upstream-idle-connections")) o.proxy.idle_connections = f.upstream_idle_connections;
}

void add_policy_flags(CLI::App& app, Flags& f) {
  const char* group = "Policy (one route for every path; instead of the demo's policy or a config file's routes)";
  app.add_option("--allow-origin", f.allow_origins,
                 "Allowed origin or pattern (https://app.example.com, https://*.example.com, http://localhost:*), "
                 "or * for a public resource; repeat or separate with commas")
      ->delimiter(',')
      ->group(group);
  app.add_flag("--allow-credentials", f.allow_credentials, "Allow cookies and Authorization (not with *)")
      ->group(group);
  app.add_option("--allow-methods", f.allow_methods, "Methods beyond GET, HEAD, POST (comma-separated)")
      ->delimiter(',')
      ->group(group);
  app.add_option("--allow-headers", f.allow_headers, "Request headers scripts may send (comma-separated)")
      ->delimiter(',')
      ->group(group);
  app.add_option("--expose-headers", f.expose_headers, "Response headers scripts may read (comma-separated)")
      ->delimiter(',')
      ->group(group);
  app.add_option("--max-age", f.max_age, "Seconds browsers may cache a preflight (0 to 86400)")
      ->check(CLI::Range(0u, 86400u))
      ->group(group);
  app.add_flag("--allow-private-network", f.allow_private_network,
               "Answer Access-Control-Request-Private-Network preflights")
      ->group(group);
  app.add_flag("--preflight-passthrough", f.preflight_passthrough, "Let the application answer preflights")
      ->group(group);
}

void apply_server_flags(const CLI::App& app, const Flags& f, Options& o) {
  if (given(app, "--listen")) o.api = *parse_host_port(f.api);
  if (given(app, "--demo-listen")) o.demo = *parse_host_port(f.demo);
  if (given(app, "--admin-listen")) o.admin = *parse_host_port(f.admin);
  if (f.no_demo) o.demo_enabled = false;
  if (given(app, "--demo-root")) o.demo_root = f.demo_root;
  if (given(app, "--jquery")) o.jquery = f.jquery;
  if (given(app, "--threads")) o.threads = f.threads;
  if (given(app, "--max-body")) o.limits.body_bytes = f.max_body;
  if (given(app, "--max-header-bytes")) o.limits.header_bytes = f.max_header_bytes;
  if (given(app, "--max-connections")) o.limits.connections_per_thread = f.max_connections;
  if (given(app, "--header-timeout")) o.limits.header_timeout = seconds_to_ms(f.header_timeout);
  if (given(app, "--body-timeout")) o.limits.body_timeout = seconds_to_ms(f.body_timeout);
  if (given(app, "--idle-timeout")) o.limits.idle_timeout = seconds_to_ms(f.idle_timeout);
  if (given(app, "--shutdown-timeout")) o.limits.shutdown_grace = seconds_to_ms(f.shutdown_timeout);
  if (given(app, "--log-level")) o.log_level = f.log_level == "debug" ? LogLevel::debug : LogLevel::info;
}

// Returns an error message, or empty.
std::string apply_policy_flags(const CLI::App& app, const Flags& f, Options& o) {
  const bool any = !f.allow_origins.empty() || f.allow_credentials || given(app, "--allow-methods") ||
                   given(app, "--allow-headers") || given(app, "--expose-headers") || given(app, "--max-age") ||
                   f.allow_private_network || f.preflight_passthrough || given(app, "--upstream") ||
                   given(app, "--host-header");
  if (!any) return {};
  if (!o.routes.empty()) {
    return "policy flags (--allow-origin, ...) and the config file's [[routes]] both define policies\n"
           "  fix: put the policy in the config file, or drop --config";
  }
  if (f.allow_origins.empty() && given(app, "--upstream")) {
    return "--upstream needs --allow-origin: echoing any origin in front of an existing API would let every web page "
           "read it through its visitors' browsers\n"
           "  fix: name the pages' origins, e.g. --allow-origin https://app.example.com (or --allow-origin '*' for a "
           "public API without credentials)";
  }
  if (f.allow_origins.empty())
    return "a policy needs --allow-origin\n  fix: add --allow-origin https://app.example.com";
  RouteConfig route;
  route.upstream = f.upstream;
  route.upstream_host = f.host_header == "upstream";
  route.policy.allow_origins = f.allow_origins;
  route.policy.allow_credentials = f.allow_credentials;
  route.policy.allow_methods = f.allow_methods;
  route.policy.allow_headers = f.allow_headers;
  route.policy.expose_headers = f.expose_headers;
  if (given(app, "--max-age")) route.policy.max_age_seconds = f.max_age;
  route.policy.allow_private_network = f.allow_private_network;
  route.policy.preflight_passthrough = f.preflight_passthrough;
  o.routes.push_back(std::move(route));
  return {};
}

Parsed error_exit(const std::string& message) {
  Parsed p;
  p.exit_code = 2;
  p.error = message;
  return p;
}

}  // namespace

Parsed parse(int argc, char** argv) {
  Flags f;
  f.threads = std::max(1u, std::thread::hardware_concurrency());
  CLI::App app{
      "corsd: a fast, spec-exact CORS server.\n"
      "With no arguments it runs the demo (the blog post's system): the echo API on http://localhost:8080\n"
      "and the demo page on a second origin, http://localhost:8081/.",
      "corsd"};
  app.set_version_flag("--version", "corsd " CORSD_VERSION);
  app.add_option("--config", f.config,
                 "TOML file with [server], [demo], [admin], [proxy] and [[routes]] (see examples/)")
      ->check(CLI::ExistingFile);
  app.add_option("--check-config", f.check_config, "Validate a config file, print the effective policies, exit")
      ->check(CLI::ExistingFile)
      ->excludes("--config");
  add_server_flags(app, f);
  add_policy_flags(app, f);
  add_proxy_flags(app, f);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    Parsed p;
    if (e.get_exit_code() == 0) {
      p.exit_code = app.exit(e);  // --help, --version
    } else {
      p.exit_code = e.get_exit_code();
      p.error = std::string(e.what()) + "\n  run with --help for more information";
    }
    return p;
  }

  Parsed parsed;
  Options& o = parsed.options;
  o.demo_root = f.demo_root;
  o.jquery = f.jquery;
  o.threads = f.threads;
  const std::string& file = f.check_config.empty() ? f.config : f.check_config;
  o.check_only = !f.check_config.empty();
  if (!file.empty()) {
    if (std::string e = load_config_file(file, o); !e.empty()) return error_exit(e);
  }
  apply_server_flags(app, f, o);
  apply_proxy_flags(app, f, o);
  if (std::string e = apply_policy_flags(app, f, o); !e.empty()) return error_exit(e);
  if (!file.empty() && o.routes.empty()) {
    // Else a file without routes would silently run the demo's allow-any-origin policy.
    return error_exit(file +
                      ": no [[routes]] and no policy flags: a config file states the policies it serves\n"
                      "  fix: add a route, e.g. [[routes]] path = \"/\" allow_origins = [\"https://app.example.com\"]");
  }
  return parsed;
}

std::vector<std::string> restart_only_changes(const Options& running, const Options& next) {
  std::vector<std::string> changed;
  const auto check = [&](bool same, const char* name) {
    if (!same) changed.emplace_back(name);
  };
  check(running.api == next.api, "[server] listen");
  check(running.admin == next.admin, "[admin] listen");
  check(running.threads == next.threads, "[server] threads");
  check(running.limits == next.limits, "[server] limits (max_*, *_timeout)");
  check(running.log_level == next.log_level, "[server] log_level");
  check(running.demo_enabled == next.demo_enabled && running.demo == next.demo && running.demo_root == next.demo_root &&
            running.jquery == next.jquery && running.demo_api_origin == next.demo_api_origin,
        "[demo]");
  return changed;
}

}  // namespace corsd::cli
