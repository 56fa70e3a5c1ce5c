#pragma once
// File: corsd/config/policy_file.hpp
//
// Policies from corsd's TOML config files, for any server (library target
// corsd::config, which needs toml++ and libpsl).
//
// A config file's [[routes]] tables are the policies: each names a path
// prefix and the CORS policy of the requests under it, and a host server
// loads them with the same rules and the same "FILE:LINE: what; fix"
// messages as corsd itself:
//
//     [[routes]]
//     path = "/api/"
//     allow_origins = ["https://app.example.com"]
//     allow_credentials = true
//     allow_methods = ["PUT", "DELETE"]
//     allow_headers = ["content-type", "authorization"]
//     max_age = 600
//
// Example:
//
//     auto loaded = corsd::config::load_policy_file("/etc/corsd/api.toml");
//     if (auto* error = std::get_if<std::string>(&loaded)) {
//       std::cerr << *error << "\n";  // api.toml:4: route "/api/": allow_origins: ...
//       return 1;
//     }
//     const corsd::cors::RouteTable routes = std::get<corsd::cors::RouteTable>(std::move(loaded));
//     if (const corsd::cors::Route* route = routes.match(path)) { ...route->policy... }
//
// The other tables of corsd's own config ([server], [demo], [proxy], ...)
// may be in the file; a host ignores them. Keys only corsd's proxy can
// carry out (a route's `upstream`) are refused, since a host serves the
// requests itself.

#include <cstddef>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "corsd/config/detail/setting.hpp"
#include "corsd/cors/policy.hpp"
#include "corsd/cors/route_table.hpp"

namespace corsd::config {

// Which Host corsd's proxy sends upstream.
enum class HostHeader { client, upstream };

// One [[routes]] table as written, and where: error messages name the file
// and line of the offending key or list element.
struct RouteSpec {
  std::string path = "/";
  cors::PolicySpec policy;
  std::string upstream;  // corsd's proxy only: "http://127.0.0.1:5000"
  HostHeader host_header = HostHeader::client;
  std::string file;      // empty for a route built from corsd's flags
  std::size_t line = 0;  // where the route's table starts
  std::map<std::string, std::size_t, std::less<>> key_lines;
  std::map<std::string, std::vector<std::size_t>, std::less<>> element_lines;
};

using RouteSetting = Setting<RouteSpec>;

// route_settings()
//
// The keys of a [[routes]] table, each declared once.
std::span<const RouteSetting> route_settings();

// config_sections()
//
// The top-level tables of a corsd config file.
std::span<const std::string_view> config_sections();

// read_routes()
//
// The [[routes]] of the TOML file at `path`, as written (not yet checked
// as policies); the other tables are only checked to be corsd's. Else the
// first mistake: "FILE:LINE: what\n  fix: how".
std::variant<std::vector<RouteSpec>, std::string> read_routes(const std::string& path);

// system_public_suffixes()
//
// The Public Suffix List Debian ships (package publicsuffix), else
// libpsl's built-in copy: what refuses patterns like https://*.co.uk.
cors::PublicSuffixCheck system_public_suffixes();

// create_policy()
//
// The route's policy, or its error located at the file and line (or the
// flag) of the key at fault.
std::variant<cors::Policy, std::string> create_policy(const RouteSpec& route,
                                                      const cors::PublicSuffixCheck& is_public_suffix);

// route_error()
//
// "FILE:LINE: route \"PATH\": FIELD: RULE\n  fix: FIX" for a mistake in
// `route`'s key `field` (element `index` of a list).
std::string route_error(const RouteSpec& route, const std::string& field, const std::string& rule,
                        const std::string& fix, std::size_t index = 0);

// create_route_table()
//
// RouteTable::create() on `routes`, each Route's id its index in `specs`
// (where they were written), its error located at that route's table (or
// "route" for one the flags made).
std::variant<cors::RouteTable, std::string> create_route_table(std::vector<cors::Route> routes,
                                                               const std::vector<RouteSpec>& specs);

// load_policy_file()
//
// What a host server needs: read_routes(), every route's policy created
// with the system's Public Suffix List, and the table that matches request
// paths to them (each Route's id is its index in the file). A route
// with an upstream is refused: only corsd's proxy forwards.
std::variant<cors::RouteTable, std::string> load_policy_file(const std::string& path);

}  // namespace corsd::config
