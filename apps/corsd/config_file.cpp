#include "config_file.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>

#include "settings.hpp"

namespace corsd::cli {
namespace {

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

  // known_keys()
  //
  // Whether every key of `t` is one of `allowed`; else fails at the first
  // other, suggesting the nearest.
  bool known_keys(const toml::table& t, std::string_view where, const std::vector<std::string_view>& allowed) {
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

  // read()
  //
  // Reads `n` as setting `s` into `target`, failing with the line of the
  // node (or of the list element) at fault. `lines` receives a list's
  // element lines.
  template <typename Target>
  bool read(const Setting<Target>& s, const toml::node& n, Target& target, std::vector<std::size_t>* lines = nullptr) {
    std::optional<Value> value = value_of(s, n, lines);
    if (!value) return fail(line_of(n), std::string(s.key) + " " + wrong_type(s).what, wrong_type(s).fix);
    if (auto problem = check_value(s, *value)) {
      std::size_t line = line_of(n);
      if (s.type == Type::list) line = element_line(n, std::get<std::vector<std::string>>(*value), s);
      return fail(line, std::string(s.key) + " " + problem->what, problem->fix);
    }
    if (s.type == Type::path) value = resolve(std::get<std::string>(*value));
    s.store(target, *value);
    return true;
  }

 private:
  // The value of `n` if it has the setting's type.
  template <typename Target>
  std::optional<Value> value_of(const Setting<Target>& s, const toml::node& n, std::vector<std::size_t>* lines) {
    switch (s.type) {
      case Type::boolean:
        if (auto v = n.value<bool>()) return Value(*v);
        return std::nullopt;
      case Type::integer:
        if (auto v = n.is_integer() ? n.value<std::int64_t>() : std::nullopt) return Value(*v);
        return std::nullopt;
      case Type::seconds:
        if (auto v = (n.is_integer() || n.is_floating_point()) ? n.value<double>() : std::nullopt) return Value(*v);
        return std::nullopt;
      case Type::list: return list_of(n, s.key, lines);
      default:
        if (auto v = n.value<std::string>()) return Value(*v);
        return std::nullopt;
    }
  }

  std::optional<Value> list_of(const toml::node& n, std::string_view key, std::vector<std::size_t>* lines) {
    const toml::array* a = n.as_array();
    if (a == nullptr) return std::nullopt;
    std::vector<std::string> out;
    for (const toml::node& element : *a) {
      auto v = element.value<std::string>();
      if (!v) {
        fail(line_of(element), std::string(key) + " must hold strings only", "quote every element");
        return std::nullopt;
      }
      out.push_back(*v);
      if (lines) lines->push_back(line_of(element));
    }
    return Value(std::move(out));
  }

  // The line of the first element of `n` the setting's element check refuses.
  template <typename Target>
  static std::size_t element_line(const toml::node& n, const std::vector<std::string>& list, const Setting<Target>& s) {
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (s.check_element && s.check_element(list[i])) return line_of(*n.as_array()->get(i));
    }
    return line_of(n);
  }

  // A path as written in the file, relative to the file's folder.
  std::string resolve(const std::string& path) const {
    if (path.empty() || path == "-" || path.front() == '/') return path;
    return (std::filesystem::path(file_).parent_path() / path).string();
  }

  std::string file_;
  std::string error_;
};

template <typename Target>
std::vector<std::string_view> keys_of(std::span<const Setting<Target>> settings, std::string_view section) {
  std::vector<std::string_view> keys;
  for (const auto& s : settings) {
    if (s.section == section) keys.push_back(s.key);
  }
  return keys;
}

template <typename Target>
const Setting<Target>* find(std::span<const Setting<Target>> settings, std::string_view section, std::string_view key) {
  for (const auto& s : settings) {
    if (s.section == section && s.key == key) return &s;
  }
  return nullptr;
}

// Reads one of the tables [server], [demo], [admin], [proxy], [access_log].
bool read_section(Reader& r, const toml::table& t, std::string_view section, Options& o) {
  if (!r.known_keys(t, "[" + std::string(section) + "]", keys_of(server_settings(), section))) return false;
  for (auto&& [key, n] : t) {
    if (!r.read(*find(server_settings(), section, key.str()), n, o)) return false;
  }
  return true;
}

bool read_route(Reader& r, const toml::table& t, RouteConfig& route) {
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
                  "name the pages' origins: allow_origins = [\"https://app.example.com\"] (or [\"*\"] for a public API "
                  "without credentials)");
  }
  if (!t.contains("allow_origins")) {
    return r.fail(route.line, "a route needs allow_origins", "add allow_origins = [\"https://app.example.com\"]");
  }
  return true;
}

// [tls]: its one key, certificates, an array of [[tls.certificates]].
bool read_tls(Reader& r, const toml::table& tls, Options& o) {
  if (!r.known_keys(tls, "[tls]", {"certificates"})) return false;
  const toml::node* node = tls.get("certificates");
  if (node == nullptr) return true;
  const toml::array* tables = node->as_array();
  if (tables == nullptr || !tables->is_array_of_tables()) {
    return r.fail(line_of(*node), "tls.certificates must be tables", "write each as [[tls.certificates]]");
  }
  for (const toml::node& n : *tables) {
    const toml::table& t = *n.as_table();
    if (!r.known_keys(t, "[[tls.certificates]]", keys_of(certificate_settings(), "tls.certificates"))) return false;
    http::TlsCertificate c;
    for (auto&& [key, value] : t) {
      if (!r.read(*find(certificate_settings(), "tls.certificates", key.str()), value, c)) return false;
    }
    if (c.cert_file.empty() || c.key_file.empty() || c.server_names.empty()) {
      return r.fail(line_of(t), "a [[tls.certificates]] table needs cert, key and server_names",
                    "write cert = \"api.pem\", key = \"api.key\", server_names = [\"api.example.com\"]");
    }
    o.sni_certificates.push_back(std::move(c));
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
  const auto sections = config_sections();
  if (!r.known_keys(root, "the top level", {sections.begin(), sections.end()})) return r.error();
  for (const std::string_view section : sections) {
    const toml::node* node = root.get(section);
    if (node == nullptr || section == "routes") continue;
    if (section == "tls" && node->is_table()) {
      if (!read_tls(r, *node->as_table(), options)) return r.error();
      continue;
    }
    if (!node->is_table()) {
      r.fail(line_of(*node), std::string(section) + " must be a table", "write it as [" + std::string(section) + "]");
      return r.error();
    }
    if (!read_section(r, *node->as_table(), section, options)) return r.error();
  }
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
  return {};
}

}  // namespace corsd::cli
