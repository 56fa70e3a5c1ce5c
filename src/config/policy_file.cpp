#include "corsd/config/policy_file.hpp"

#include <libpsl.h>

#include "toml_reader.hpp"

namespace corsd::config {
namespace {

// The flag of the route key `field`, for a route the flags made.
std::string flag_for(const std::string& field) {
  for (const RouteSetting& s : route_settings()) {
    if (s.key == field && !s.flag.empty()) return std::string(s.flag);
  }
  return field;
}

// The path as text a terminal shows as it is: a control byte becomes \xNN.
std::string printable(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte != 0x7f) {
      out.push_back(c);
      continue;
    }
    static constexpr char kHex[] = "0123456789ABCDEF";
    out.append("\\x").push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 0xf]);
  }
  return out;
}

// Where a mistake in `route`'s `field` is: the flag, or file, line and route.
std::string where(const RouteSpec& route, const std::string& field, std::size_t index) {
  if (route.file.empty()) return flag_for(field);
  std::size_t line = route.line;
  if (auto it = route.key_lines.find(field); it != route.key_lines.end()) line = it->second;
  if (auto it = route.element_lines.find(field); it != route.element_lines.end() && index < it->second.size()) {
    line = it->second[index];
  }
  return route.file + ":" + std::to_string(line) + ": route \"" + printable(route.path) + "\": " + field;
}

bool read_route(Reader& r, const toml::table& t, RouteSpec& route) {
  if (!r.known_keys(t, "[[routes]]", keys_of(route_settings(), "routes"))) return false;
  route.file = r.file();
  route.line = line_of(t);
  for (auto&& [key, n] : t) {
    const std::string name(key.str());
    route.key_lines[name] = line_of(n);
    const RouteSetting& s = *find(route_settings(), "routes", name);
    if (!r.read(s, n, route, s.type == Type::list ? &route.element_lines[name] : nullptr)) return false;
  }
  if (!t.contains("allow_origins") && t.contains("upstream")) {
    return r.fail(route.line,
                  "route \"" + route.path +
                      "\" has an upstream but no allow_origins: echoing any origin in front of an "
                      "existing API would let every web page read it through its visitors' browsers",
                  "name the pages' origins: allow_origins = [\"https://app.example.com\"] (or [\"*\"] for a public "
                  "API without credentials)");
  }
  if (!t.contains("allow_origins")) {
    return r.fail(route.line, "a route needs allow_origins", "add allow_origins = [\"https://app.example.com\"]");
  }
  return true;
}

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

bool parse_toml(Reader& r, const std::string& path, toml::table& root, std::string_view unreadable_fix) {
  try {
    root = toml::parse_file(path);
    return true;
  } catch (const toml::parse_error& e) {
    const std::string what(e.description());
    if (what.find("File could not be opened") != std::string::npos) {
      return r.fail_whole(path + ": cannot read the file\n  fix: " + std::string(unreadable_fix));
    }
    return r.fail(e.source().begin.line, "not valid TOML: " + what, "see https://toml.io for the syntax");
  }
}

bool read_route_tables(Reader& r, const toml::node& routes, std::vector<RouteSpec>& out) {
  const toml::array* tables = routes.as_array();
  if (tables == nullptr || !tables->is_array_of_tables()) {
    return r.fail(line_of(routes), "routes must be tables", "write each route as [[routes]]");
  }
  for (const toml::node& n : *tables) {
    RouteSpec route;
    if (!read_route(r, *n.as_table(), route)) return false;
    out.push_back(std::move(route));
  }
  return true;
}

std::variant<std::vector<RouteSpec>, std::string> read_routes(const std::string& path) {
  Reader r(path);
  toml::table root;
  if (!parse_toml(r, path, root)) return r.error();
  const auto sections = config_sections();
  if (!r.known_keys(root, "the top level", {sections.begin(), sections.end()})) return r.error();
  std::vector<RouteSpec> routes;
  if (const toml::node* node = root.get("routes"); node && !read_route_tables(r, *node, routes)) return r.error();
  if (routes.empty()) {
    return path +
           ": no [[routes]]: nothing says which origins may call\n  fix: add a [[routes]] table with path and "
           "allow_origins";
  }
  return routes;
}

cors::PublicSuffixCheck system_public_suffixes() {
  static psl_ctx_t* const psl = [] {
    psl_ctx_t* latest = psl_latest(nullptr);
    return latest ? latest : const_cast<psl_ctx_t*>(psl_builtin());
  }();
  if (psl == nullptr) return {};
  return [](std::string_view domain) {
    return psl_is_public_suffix2(psl, std::string(domain).c_str(), PSL_TYPE_ANY) != 0;
  };
}

std::string route_error(const RouteSpec& route, const std::string& field, const std::string& rule,
                        const std::string& fix, std::size_t index) {
  return where(route, field, index) + ": " + rule + "\n  fix: " + fix;
}

std::variant<cors::Policy, std::string> create_policy(const RouteSpec& route,
                                                      const cors::PublicSuffixCheck& is_public_suffix) {
  auto policy = cors::Policy::create(route.policy, is_public_suffix);
  if (auto* e = std::get_if<cors::PolicyError>(&policy)) return route_error(route, e->field, e->rule, e->fix, e->index);
  return std::get<cors::Policy>(std::move(policy));
}

std::variant<cors::RouteTable, std::string> load_policy_file(const std::string& path) {
  auto read = read_routes(path);
  if (auto* e = std::get_if<std::string>(&read)) return std::move(*e);
  const auto& specs = std::get<std::vector<RouteSpec>>(read);
  const cors::PublicSuffixCheck is_public_suffix = system_public_suffixes();
  std::vector<cors::Route> routes;
  for (const RouteSpec& spec : specs) {
    if (!spec.upstream.empty()) {
      return route_error(spec, "upstream", "only corsd's proxy forwards requests; this server answers them itself",
                         "remove upstream, or run corsd in front of the API instead");
    }
    auto policy = create_policy(spec, is_public_suffix);
    if (auto* e = std::get_if<std::string>(&policy)) return std::move(*e);
    routes.push_back(cors::Route{spec.path, std::get<cors::Policy>(std::move(policy)), routes.size()});
  }
  return create_route_table(std::move(routes), specs);
}

std::variant<cors::RouteTable, std::string> create_route_table(std::vector<cors::Route> routes,
                                                               const std::vector<RouteSpec>& specs) {
  auto table = cors::RouteTable::create(std::move(routes));
  if (auto* e = std::get_if<cors::RouteError>(&table)) {
    const RouteSpec& spec = specs[e->index];
    const std::string at = spec.file.empty() ? std::string("route") : spec.file + ":" + std::to_string(spec.line);
    return at + ": " + e->rule + "\n  fix: " + e->fix;
  }
  return std::get<cors::RouteTable>(std::move(table));
}

}  // namespace corsd::config
