#pragma once
// The TOML reader of corsd's config files, shared by corsd::config (the
// [[routes]]) and the corsd binary (its other tables): every mistake is
// remembered with its file and line, as "FILE:LINE: what\n  fix: how".
// Internal to this project: not installed.

#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "corsd/config/detail/setting.hpp"
#include "corsd/config/policy_file.hpp"

namespace corsd::config {

std::size_t edit_distance(std::string_view a, std::string_view b);

inline std::size_t line_of(const toml::node& n) { return n.source().begin.line; }

// Reads one file, remembering the first mistake with its line.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  bool fail(std::size_t line, const std::string& what, const std::string& fix) {
    if (error_.empty()) error_ = file_ + ":" + std::to_string(line) + ": " + what + "\n  fix: " + fix;
    return false;
  }
  // A mistake of the whole file, with no line: `message` as it is.
  bool fail_whole(const std::string& message) {
    if (error_.empty()) error_ = message;
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
      for (auto k : allowed) list.append(list.empty() ? "" : ", ").append(k);
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

// read_route_tables()
//
// Reads the array `routes` of [[routes]] tables into `out`.
bool read_route_tables(Reader& r, const toml::node& routes, std::vector<RouteSpec>& out);

// parse_toml()
//
// The file at `path` parsed, or false with the reader's error set
// (`unreadable_fix` when it cannot be read).
bool parse_toml(Reader& r, const std::string& path, toml::table& root,
                std::string_view unreadable_fix = "check the path");

}  // namespace corsd::config
