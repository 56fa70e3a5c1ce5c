#include "corsd/cors/route_table.hpp"

#include <algorithm>

namespace corsd::cors {
namespace {

bool prefix_matches(std::string_view prefix, std::string_view path) noexcept {
  if (path.substr(0, prefix.size()) != prefix) return false;
  return prefix.back() == '/' || path.size() == prefix.size() || path[prefix.size()] == '/' ||
         path[prefix.size()] == '?';
}

}  // namespace

RouteTableOrError RouteTable::create(std::vector<Route> routes) {
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const std::string& prefix = routes[i].prefix;
    if (prefix.empty() || prefix.front() != '/') {
      return RouteError{i, "path \"" + prefix + "\" does not start with \"/\"", "write it like \"/api\""};
    }
    if (prefix.find_first_of("*?#") != std::string::npos) {
      return RouteError{i, "path \"" + prefix + "\" is a prefix, matched literally: \"*\", \"?\" and \"#\" never match",
                        "write the prefix alone, e.g. \"/api\" for /api and everything below it"};
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (routes[j].prefix == prefix) {
        return RouteError{i, "path \"" + prefix + "\" has a route already (route " + std::to_string(j + 1) + ")",
                          "merge the two routes or remove one"};
      }
    }
  }
  std::stable_sort(routes.begin(), routes.end(),
                   [](const Route& a, const Route& b) { return a.prefix.size() > b.prefix.size(); });
  return RouteTable(std::move(routes));
}

RouteTable RouteTable::seed() {
  std::vector<Route> routes;
  routes.push_back(Route{"/", Policy::seed()});
  return RouteTable(std::move(routes));
}

const Route* RouteTable::match(std::string_view path) const noexcept {
  for (const auto& route : routes_) {
    if (prefix_matches(route.prefix, path)) return &route;
  }
  return nullptr;
}

}  // namespace corsd::cors
