#include "corsd/cors/route_table.hpp"

#include <algorithm>

namespace corsd::cors {
namespace {

// The next segment of `rest` (up to "/" or its end), taken off it; `more`:
// whether a "/" followed.
std::string_view next_segment(std::string_view& rest, bool& more) noexcept {
  const std::size_t end = rest.find('/');
  const std::string_view segment = rest.substr(0, end);
  more = end != std::string_view::npos;
  rest = more ? rest.substr(end + 1) : std::string_view();
  return segment;
}

}  // namespace

RouteTableOrError RouteTable::create(std::vector<Route> routes) {
  std::unordered_map<std::string_view, std::size_t, StringHash, std::equal_to<>> seen;
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const std::string& prefix = routes[i].prefix;
    if (prefix.empty() || prefix.front() != '/') {
      return RouteError{i, "path \"" + prefix + "\" does not start with \"/\"", "write it like \"/api\""};
    }
    if (prefix.find_first_of("*?#") != std::string::npos) {
      return RouteError{i, "path \"" + prefix + "\" is a prefix, matched literally: \"*\", \"?\" and \"#\" never match",
                        "write the prefix alone, e.g. \"/api\" for /api and everything below it"};
    }
    if (const auto [it, added] = seen.emplace(prefix, i); !added) {
      return RouteError{i, "path \"" + prefix + "\" has a route already (route " + std::to_string(it->second + 1) + ")",
                        "merge the two routes or remove one"};
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

RouteTable::RouteTable(std::vector<Route> routes) : routes_(std::move(routes)), nodes_(1) {
  for (std::size_t i = 0; i < routes_.size(); ++i) slot_of(routes_[i].prefix) = static_cast<std::uint32_t>(i);
}

std::uint32_t& RouteTable::slot_of(std::string_view prefix) {
  const bool slash = prefix.back() == '/';
  // "/api/v2/" and "/api/v2" walk the same segments, "api" then "v2"; "/"
  // walks none and "//" one, "".
  std::string_view rest = prefix.substr(1, prefix.size() - (slash ? 2 : 1));
  std::uint32_t node = 0;
  for (bool more = !slash || prefix.size() > 1; more;) {
    const std::string_view segment = next_segment(rest, more);
    if (const auto it = nodes_[node].children.find(segment); it != nodes_[node].children.end()) {
      node = it->second;
      continue;
    }
    const auto child = static_cast<std::uint32_t>(nodes_.size());
    nodes_[node].children.emplace(std::string(segment), child);
    nodes_.emplace_back();
    node = child;
  }
  return slash ? nodes_[node].slash : nodes_[node].exact;
}

const Route* RouteTable::match(std::string_view path) const noexcept {
  if (path.empty() || path.front() != '/') return nullptr;
  // The segments end at "/"; the last at "?" or the path's end.
  std::string_view rest = path.substr(1, path.find('?') - 1);
  std::uint32_t found = nodes_[0].slash;
  std::uint32_t node = 0;
  for (bool more = true; more;) {
    const std::string_view segment = next_segment(rest, more);
    const auto it = nodes_[node].children.find(segment);
    if (it == nodes_[node].children.end()) break;
    node = it->second;
    // Deeper is longer, and "/x/" is longer than "/x".
    if (nodes_[node].exact != kNoRoute) found = nodes_[node].exact;
    if (more && nodes_[node].slash != kNoRoute) found = nodes_[node].slash;
  }
  return found == kNoRoute ? nullptr : &routes_[found];
}

}  // namespace corsd::cors
