#pragma once
// Turns the routes as written into the RouteTable the server runs, checking
// every policy (with the system's Public Suffix List) and naming the file
// and line, or the flag, of the first mistake.

#include <string>
#include <variant>
#include <vector>

#include "corsd/cors/route_table.hpp"
#include "options.hpp"

namespace corsd::cli {

// build_routes()
//
// Returns the route table for `routes` (the seed's when empty), or an error
// message with location, rule and fix.
std::variant<cors::RouteTable, std::string> build_routes(const std::vector<RouteConfig>& routes);

}  // namespace corsd::cli
