#include "config_file.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>

namespace corsd::cli {
namespace {

constexpr std::string_view kServerKeys[] = {"listen",           "threads",        "max_body",     "max_header_bytes",
                                            "max_connections",  "header_timeout", "body_timeout", "idle_timeout",
                                            "shutdown_timeout", "log_level"};
constexpr std::string_view kDemoKeys[] = {"enabled", "listen", "root", "jquery", "api_origin"};
constexpr std::string_view kRouteKeys[] = {"path",
                                           "allow_origins",
                                           "allow_credentials",
                                           "allow_methods",
                                           "allow_headers",
                                           "expose_headers",
                                           "max_age",
                                           "allow_private_network",
                                           "preflight_passthrough",
                                           "dangerously_allow_insecure_origins_with_credentials",
                                           "upstream",
                                           "host_header"};
constexpr std::string_view kProxyKeys[] = {"connect_timeout", "response_timeout", "idle_timeout", "idle_connections",
                                           "trusted_proxies"};
constexpr std::string_view kAdminKeys[] = {"listen"};
constexpr std::string_view kTopKeys[] = {"server", "demo", "admin", "proxy", "routes"};

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

std::size_t line_of(const toml::node& n) { return n.source().begin.line; }

// Reads one file, remembering the first mistake with its line.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  bool fail(std::size_t line, const std::string& what, const std::string& fix) {
    if (error_.empty()) error_ = file_ + ":" + std::to_string(line) + ": " + what + "\n  fix: " + fix;
    return false;
  }
  const std::string& error() const { return error_; }
  const std::string& file() const { return file_; }

  bool known_keys(const toml::table& t, std::string_view where, std::span<const std::string_view> allowed) {
    for (auto&& [key, value] : t) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) != allowed.end()) continue;
      std::string_view best;
      std::size_t best_distance = 4;
      for (auto candidate : allowed) {
        const std::size_t d = edit_distance(key.str(), candidate);
        if (d < best_distance) best = candidate, best_distance = d;
      }
      std::string list;
      for (auto k : allowed) list += (list.empty() ? "" : ", ") + std::string(k);
      return fail(line_of(value), "unknown key \"" + std::string(key.str()) + "\" in " + std::string(where),
                  best.empty() ? "use one of: " + list : "did you mean \"" + std::string(best) + "\"?");
    }
    return true;
  }

  bool read(const toml::node& n, std::string_view key, std::string& out) {
    if (auto v = n.value<std::string>()) return out = *v, true;
    return fail(line_of(n), std::string(key) + " must be a string", "write it in quotes");
  }
  bool read(const toml::node& n, std::string_view key, bool& out) {
    if (auto v = n.value<bool>()) return out = *v, true;
    return fail(line_of(n), std::string(key) + " must be true or false", "write true or false, without quotes");
  }
  template <typename Int>
  bool read(const toml::node& n, std::string_view key, Int& out, std::int64_t min, std::int64_t max) {
    const auto v = n.is_integer() ? n.value<std::int64_t>() : std::nullopt;
    if (v && *v >= min && *v <= max) return out = static_cast<Int>(*v), true;
    return fail(line_of(n),
                std::string(key) + " must be a whole number from " + std::to_string(min) + " to " + std::to_string(max),
                "write a number in that range, without quotes");
  }
  // Seconds from `min` (0.001, or 0 where zero makes sense) to a day, as the flags take them.
  bool read_seconds(const toml::node& n, std::string_view key, std::chrono::milliseconds& out, double min = 0.001) {
    const auto v = (n.is_integer() || n.is_floating_point()) ? n.value<double>() : std::nullopt;
    if (v && *v >= min && *v <= 86400) return out = seconds_to_ms(*v), true;
    return fail(line_of(n),
                std::string(key) + " must be a number of seconds from " + (min > 0 ? "0.001" : "0") + " to 86400",
                "write e.g. 10 or 2.5");
  }
  bool read_host_port(const toml::node& n, std::string_view key, HostPort& out) {
    std::string text;
    if (!read(n, key, text)) return false;
    if (auto hp = parse_host_port(text)) return out = *hp, true;
    return fail(line_of(n), std::string(key) + " \"" + text + "\" is not HOST:PORT", "write e.g. \"localhost:8080\"");
  }
  bool read_list(const toml::node& n, std::string_view key, std::vector<std::string>& out, RouteConfig& route) {
    return read_list(n, key, out, &route.element_lines[std::string(key)]);
  }
  bool read_list(const toml::node& n, std::string_view key, std::vector<std::string>& out,
                 std::vector<std::size_t>* lines = nullptr) {
    const toml::array* a = n.as_array();
    if (a == nullptr) return fail(line_of(n), std::string(key) + " must be a list of strings", "write [\"a\", \"b\"]");
    out.clear();
    for (const toml::node& element : *a) {
      auto v = element.value<std::string>();
      if (!v) return fail(line_of(element), std::string(key) + " must hold strings only", "quote every element");
      out.push_back(*v);
      if (lines) lines->push_back(line_of(element));
    }
    return true;
  }

 private:
  std::string file_;
  std::string error_;
};

std::string resolve(const std::string& config_file, const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  return (std::filesystem::path(config_file).parent_path() / path).string();
}

bool read_server(Reader& r, const toml::table& t, Options& o) {
  if (!r.known_keys(t, "[server]", kServerKeys)) return false;
  bool ok = true;
  for (auto&& [key, n] : t) {
    const std::string_view k = key.str();
    if (k == "listen") ok = r.read_host_port(n, k, o.api);
    if (k == "threads") ok = r.read(n, k, o.threads, 1, 256);
    if (k == "max_body") ok = r.read(n, k, o.limits.body_bytes, 0, std::int64_t{1} << 40);
    if (k == "max_header_bytes") ok = r.read(n, k, o.limits.header_bytes, 1024, 1024 * 1024);
    if (k == "max_connections") ok = r.read(n, k, o.limits.connections_per_thread, 1, 1'000'000);
    if (k == "header_timeout") ok = r.read_seconds(n, k, o.limits.header_timeout);
    if (k == "body_timeout") ok = r.read_seconds(n, k, o.limits.body_timeout);
    if (k == "idle_timeout") ok = r.read_seconds(n, k, o.limits.idle_timeout);
    if (k == "shutdown_timeout") ok = r.read_seconds(n, k, o.limits.shutdown_grace, 0);
    if (k == "log_level") {
      std::string level;
      ok = r.read(n, k, level);
      if (ok && level != "info" && level != "debug") {
        ok = r.fail(line_of(n), "log_level \"" + level + "\" is not a level", "write \"info\" or \"debug\"");
      }
      o.log_level = level == "debug" ? LogLevel::debug : LogLevel::info;
    }
    if (!ok) return false;
  }
  return true;
}

bool read_demo(Reader& r, const toml::table& t, Options& o) {
  if (!r.known_keys(t, "[demo]", kDemoKeys)) return false;
  bool ok = true;
  for (auto&& [key, n] : t) {
    const std::string_view k = key.str();
    if (k == "enabled") ok = r.read(n, k, o.demo_enabled);
    if (k == "listen") ok = r.read_host_port(n, k, o.demo);
    if (k == "root" && (ok = r.read(n, k, o.demo_root))) o.demo_root = resolve(r.file(), o.demo_root);
    if (k == "jquery" && (ok = r.read(n, k, o.jquery))) o.jquery = resolve(r.file(), o.jquery);
    if (k == "api_origin") ok = r.read(n, k, o.demo_api_origin);
    if (!ok) return false;
  }
  return true;
}

bool read_admin(Reader& r, const toml::table& t, Options& o) {
  if (!r.known_keys(t, "[admin]", kAdminKeys)) return false;
  for (auto&& [key, n] : t) {
    if (key.str() == "listen" && !r.read_host_port(n, "listen", o.admin.emplace())) return false;
  }
  return true;
}

bool read_trusted_proxies(Reader& r, const toml::node& n, std::vector<std::string>& out) {
  std::vector<std::size_t> lines;
  if (!r.read_list(n, "trusted_proxies", out, &lines)) return false;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (proxy::parse_address(out[i]).empty()) {
      return r.fail(lines[i], "trusted_proxies: \"" + out[i] + "\" is not an IP address",
                    "list the addresses of the proxies in front of corsd, e.g. \"10.0.0.2\" or \"::1\"");
    }
  }
  return true;
}

bool read_proxy(Reader& r, const toml::table& t, Options& o) {
  if (!r.known_keys(t, "[proxy]", kProxyKeys)) return false;
  bool ok = true;
  for (auto&& [key, n] : t) {
    const std::string_view k = key.str();
    if (k == "connect_timeout") ok = r.read_seconds(n, k, o.proxy.connect_timeout);
    if (k == "response_timeout") ok = r.read_seconds(n, k, o.proxy.response_timeout);
    if (k == "idle_timeout") ok = r.read_seconds(n, k, o.proxy.idle_timeout);
    if (k == "idle_connections") ok = r.read(n, k, o.proxy.idle_connections, 0, 10000);
    if (k == "trusted_proxies") ok = read_trusted_proxies(r, n, o.proxy.trusted_proxies);
    if (!ok) return false;
  }
  return true;
}

bool read_route(Reader& r, const toml::table& t, RouteConfig& route) {
  if (!r.known_keys(t, "[[routes]]", kRouteKeys)) return false;
  route.file = r.file();
  route.line = line_of(t);
  cors::PolicySpec& p = route.policy;
  bool ok = true;
  for (auto&& [key, n] : t) {
    const std::string_view k = key.str();
    route.key_lines[std::string(k)] = line_of(n);
    if (k == "path") ok = r.read(n, k, route.path);
    if (k == "allow_origins") ok = r.read_list(n, k, p.allow_origins, route);
    if (k == "allow_credentials") ok = r.read(n, k, p.allow_credentials);
    if (k == "allow_methods") ok = r.read_list(n, k, p.allow_methods, route);
    if (k == "allow_headers") ok = r.read_list(n, k, p.allow_headers, route);
    if (k == "expose_headers") ok = r.read_list(n, k, p.expose_headers, route);
    if (k == "max_age") {
      unsigned seconds = 0;
      ok = r.read(n, k, seconds, 0, 86400);
      p.max_age_seconds = seconds;
    }
    if (k == "allow_private_network") ok = r.read(n, k, p.allow_private_network);
    if (k == "preflight_passthrough") ok = r.read(n, k, p.preflight_passthrough);
    if (k == "dangerously_allow_insecure_origins_with_credentials") {
      ok = r.read(n, k, p.dangerously_allow_insecure_origins_with_credentials);
    }
    if (k == "upstream") ok = r.read(n, k, route.upstream);
    if (k == "host_header") {
      std::string value;
      ok = r.read(n, k, value);
      if (ok && value != "client" && value != "upstream") {
        ok = r.fail(line_of(n), "host_header \"" + value + "\" is neither \"client\" nor \"upstream\"",
                    "write \"client\" to forward the Host the client sent, \"upstream\" to send the upstream's");
      }
      route.upstream_host = value == "upstream";
    }
    if (!ok) return false;
  }
  if (!t.contains("allow_origins") && t.contains("upstream")) {
    return r.fail(route.line,
                  "route \"" + route.path +
                      "\" has an upstream but no allow_origins: echoing any origin in front of an "
                      "existing API would let every web page read it through its visitors' browsers",
                  "name the pages' origins: allow_origins = [\"https://app.example.com\"] (or [\"*\"] for a public API "
                  "without credentials)");
  }
  if (!t.contains("allow_origins")) {
    return r.fail(route.line, "a route needs allow_origins", "add allow_origins = [\"https://app.example.com\"]");
  }
  return true;
}

}  // namespace

std::string load_config_file(const std::string& path, Options& options) {
  Reader r(path);
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const std::string what(e.description());
    if (what.find("File could not be opened") != std::string::npos) {
      return path + ": cannot read the file\n  fix: check the path given to --config";
    }
    r.fail(e.source().begin.line, "not valid TOML: " + what, "see https://toml.io for the syntax");
    return r.error();
  }
  if (!r.known_keys(root, "the top level", kTopKeys)) return r.error();
  if (const auto* server = root["server"].as_table(); server && !read_server(r, *server, options)) return r.error();
  if (const auto* demo = root["demo"].as_table(); demo && !read_demo(r, *demo, options)) return r.error();
  if (const auto* proxy = root["proxy"].as_table(); proxy && !read_proxy(r, *proxy, options)) return r.error();
  if (const auto* admin = root["admin"].as_table(); admin && !read_admin(r, *admin, options)) return r.error();
  if (root.contains("routes")) {
    const toml::array* routes = root["routes"].as_array();
    if (routes == nullptr || !routes->is_array_of_tables()) {
      r.fail(line_of(*root.get("routes")), "routes must be tables", "write each route as [[routes]]");
      return r.error();
    }
    for (const toml::node& n : *routes) {
      RouteConfig route;
      if (!read_route(r, *n.as_table(), route)) return r.error();
      options.routes.push_back(std::move(route));
    }
  }
  for (const char* table : {"server", "demo", "proxy"}) {
    if (root.contains(table) && !root[table].is_table()) {
      r.fail(line_of(*root.get(table)), std::string(table) + " must be a table",
             "write it as [" + std::string(table) + "]");
      return r.error();
    }
  }
  return {};
}

}  // namespace corsd::cli
