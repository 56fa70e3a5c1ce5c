#pragma once
// What the subcommands (check, audit) share: CLI11's errors said the same
// way, the --origin they take checked the same way, and the answers they
// fetch read the same way.

#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#include "corsd/cors/detail/browser.hpp"
#include "corsd/cors/detail/origin.hpp"
#include "corsd/cors/detail/token.hpp"
#include "corsd/http/client.hpp"

namespace corsd::cli {

// parse_subcommand()
//
// Parses `argv` with `app`: none to go on, or the exit status (0 after
// --help, 2 after a mistake, said on stderr as "corsd NAME: error: ...").
inline std::optional<int> parse_subcommand(CLI::App& app, int argc, char** argv, std::string_view name) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "corsd " << name << ": error: " << e.what() << "\n  run corsd " << name
              << " --help for more information\n";
    return 2;
  }
  return std::nullopt;
}

// is_page_origin()
//
// Whether `origin` is a serialized origin (or "null", a sandboxed or file:
// page's); else says so on stderr.
inline bool is_page_origin(const std::string& origin, std::string_view name) {
  if (origin == "null" || cors::is_serialized_origin(origin)) return true;
  std::cerr << "corsd " << name << ": error: --origin \"" << origin
            << "\" is not an origin\n  fix: write scheme://host[:port], e.g. https://app.example.com\n";
  return false;
}

// as_browser_sees()
//
// An answer as the browser's CORS checks take it: a 3xx with a Location is
// a redirect.
inline cors::browser::Response as_browser_sees(const http::ClientResponse& answer) {
  cors::browser::Response r;
  r.status = answer.status;
  for (const auto& [name, value] : answer.headers) r.headers.push_back({name, value});
  r.redirect = answer.status >= 300 && answer.status < 400 && r.find("location");
  return r;
}

}  // namespace corsd::cli
