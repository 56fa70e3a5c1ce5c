#pragma once
// corsd's command line: what the flags mean, parsed into one value.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "corsd/http/limits.hpp"

namespace corsd::cli {

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};

// parse_host_port()
//
// Parses "HOST:PORT", "[IPV6]:PORT" or a bare "PORT" (host "localhost").
std::optional<HostPort> parse_host_port(std::string_view text);

struct Options {
  HostPort api{"localhost", 8080};
  HostPort demo{"localhost", 8081};
  bool demo_enabled = true;
  std::string demo_root;
  std::string jquery;
  unsigned threads = 1;
  http::Limits limits;
};

// The outcome of parse(): run with `options`, or exit with `exit_code`
// (0 after --help or --version).
struct Parsed {
  Options options;
  std::optional<int> exit_code;
};

Parsed parse(int argc, char** argv);

}  // namespace corsd::cli
