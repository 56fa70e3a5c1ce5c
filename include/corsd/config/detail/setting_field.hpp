#pragma once
// File: corsd/config/detail/setting_field.hpp
// Internal: installed because corsd's own tools use it, but not part of the
// library's API; it may change in any release.
//
// How a setting reaches its place in its Target (a route, corsd's Options):
// the conversions between a member's type and Value, and bind(), which the
// declarations of settings use. An enum a setting chooses from is named by
// a names_of(E) found beside the enum (by argument-dependent lookup).

#include <algorithm>
#include <concepts>
#include <type_traits>

#include "corsd/config/detail/setting.hpp"

namespace corsd::config::setting_field {

template <typename E>
concept Named = std::is_enum_v<E> && requires(E e) {
  names_of(e);
};

// --- Conversions between a member's type and Value -----------------------

inline void assign(bool& out, const Value& v) { out = std::get<bool>(v); }
template <std::integral Int>
void assign(Int& out, const Value& v) {
  out = static_cast<Int>(std::get<std::int64_t>(v));
}
inline void assign(std::chrono::milliseconds& out, const Value& v) { out = seconds_to_ms(std::get<double>(v)); }
inline void assign(std::string& out, const Value& v) { out = std::get<std::string>(v); }
inline void assign(std::vector<std::string>& out, const Value& v) { out = std::get<std::vector<std::string>>(v); }
inline void assign(HostPort& out, const Value& v) { out = *parse_host_port(std::get<std::string>(v)); }
template <Named E>
void assign(E& out, const Value& v) {
  const auto names = names_of(E{});
  const auto at = std::find(names.begin(), names.end(), std::get<std::string>(v));
  out = static_cast<E>(at - names.begin());
}
template <typename T>
void assign(std::optional<T>& out, const Value& v) {
  if (std::holds_alternative<std::monostate>(v)) {
    out.reset();
  } else {
    assign(out.emplace(), v);
  }
}

inline Value to_value(bool b) { return b; }
template <std::integral Int>
Value to_value(Int n) {
  return static_cast<std::int64_t>(n);
}
inline Value to_value(std::chrono::milliseconds ms) { return static_cast<double>(ms.count()) / 1000.0; }
inline Value to_value(const std::string& s) { return s; }
inline Value to_value(const std::vector<std::string>& list) { return list; }
inline Value to_value(const HostPort& hp) {
  const bool v6 = hp.host.find(':') != std::string::npos;
  return (v6 ? "[" + hp.host + "]" : hp.host) + ":" + std::to_string(hp.port);
}
template <Named E>
Value to_value(E e) {
  return std::string(names_of(e)[static_cast<std::size_t>(e)]);
}
template <typename T>
Value to_value(const std::optional<T>& o) {
  return o ? to_value(*o) : Value{};
}

// A setting's place in Target: a chain of members, Options::limits then
// Limits::body_bytes.
template <typename Target, auto... Members>
struct Field {
  static void store(Target& t, const Value& v) { assign((t.*....*Members), v); }
  static Value load(const Target& t) { return to_value((t.*....*Members)); }
};

// bind()
//
// `s` with its store and load through the chain of members.
template <typename Target, auto... Members>
Setting<Target> bind(Setting<Target> s) {
  s.store = &Field<Target, Members...>::store;
  s.load = &Field<Target, Members...>::load;
  return s;
}

}  // namespace corsd::config::setting_field
