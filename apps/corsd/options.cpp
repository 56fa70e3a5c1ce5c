#include "options.hpp"

#include <CLI/CLI.hpp>
#include <charconv>
#include <thread>

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

std::chrono::milliseconds seconds_to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000.0));
}

}  // namespace

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

Parsed parse(int argc, char** argv) {
  Parsed parsed;
  Options& o = parsed.options;
  o.demo_root = CORSD_DEFAULT_DEMO_ROOT;
  o.jquery = CORSD_DEFAULT_JQUERY;
  o.threads = std::max(1u, std::thread::hardware_concurrency());

  std::string api = "localhost:8080", demo = "localhost:8081";
  double header_timeout = 10, body_timeout = 30, idle_timeout = 30, shutdown_timeout = 5;

  CLI::App app{"corsd: a fast, spec-exact CORS server.\n"
               "With no arguments it runs the seed's demo: the echo API on http://localhost:8080\n"
               "and the demo page on a second origin, http://localhost:8081/.",
               "corsd"};
  app.set_version_flag("--version", "corsd " CORSD_VERSION);
  app.add_option("--listen", api, "Address of the API origin")->check(kHostPort)->capture_default_str();
  app.add_option("--demo-listen", demo, "Address of the demo page's origin")->check(kHostPort)->capture_default_str();
  app.add_flag("!--no-demo", o.demo_enabled, "Serve the API only, not the demo page");
  app.add_option("--demo-root", o.demo_root, "Folder holding the demo's index.html")->capture_default_str();
  app.add_option("--jquery", o.jquery, "jQuery file the demo page loads")->capture_default_str();
  app.add_option("--threads", o.threads, "Worker threads, each with its own event loop (default: one per core)")
      ->check(CLI::Range(1u, 256u));
  app.add_option("--max-body", o.limits.body_bytes, "Largest request body in bytes; larger gets 413")
      ->capture_default_str();
  app.add_option("--max-header-bytes", o.limits.header_bytes, "Largest request header block; larger gets 431")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1024 * 1024}))
      ->capture_default_str();
  app.add_option("--max-connections", o.limits.connections_per_thread, "Open connections per thread")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--header-timeout", header_timeout, "Seconds a client has to send a request's headers")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--body-timeout", body_timeout, "Longest pause in seconds while a body arrives")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--idle-timeout", idle_timeout, "Seconds a keep-alive connection may wait for its next request")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--shutdown-timeout", shutdown_timeout,
                 "Seconds requests in flight get to finish after SIGINT/SIGTERM")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    parsed.exit_code = app.exit(e);
    return parsed;
  }
  o.api = *parse_host_port(api);
  o.demo = *parse_host_port(demo);
  o.limits.header_timeout = seconds_to_ms(header_timeout);
  o.limits.body_timeout = seconds_to_ms(body_timeout);
  o.limits.idle_timeout = seconds_to_ms(idle_timeout);
  o.limits.shutdown_grace = seconds_to_ms(shutdown_timeout);
  return parsed;
}

}  // namespace corsd::cli
