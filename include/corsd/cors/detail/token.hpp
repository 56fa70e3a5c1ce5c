#pragma once
// File: corsd/cors/detail/token.hpp
// Internal: installed because public headers or corsd's own tools use it,
// but not part of the library's API; it may change in any release.
//
// The few grammar rules of RFC 9110 the engine needs: tokens, case-insensitive
// comparison, and comma-separated lists. All are allocation-free and linear.

#include <array>
#include <span>
#include <string>
#include <string_view>

namespace corsd::cors {
namespace detail {

// Lookup tables: one load per byte on the decision path, no branches.
struct CharTables {
  std::array<bool, 256> tchar{};
  std::array<char, 256> lower{};

  constexpr CharTables() {
    for (int c = 0; c < 256; ++c)
      lower[static_cast<std::size_t>(c)] = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    for (char c = '0'; c <= '9'; ++c) tchar[static_cast<unsigned char>(c)] = true;
    for (char c = 'a'; c <= 'z'; ++c) tchar[static_cast<unsigned char>(c)] = true;
    for (char c = 'A'; c <= 'Z'; ++c) tchar[static_cast<unsigned char>(c)] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~")) tchar[static_cast<unsigned char>(c)] = true;
  }
};
inline constexpr CharTables kChars{};

inline char lower(char c) noexcept { return kChars.lower[static_cast<unsigned char>(c)]; }

}  // namespace detail

// is_token()
//
// Returns whether `s` is a non-empty RFC 9110 token (1*tchar).
inline bool is_token(std::string_view s) noexcept {
  bool ok = !s.empty();
  for (char c : s) ok &= detail::kChars.tchar[static_cast<unsigned char>(c)];
  return ok;
}

// ascii_iequals()
//
// Returns whether `a` and `b` are equal ignoring ASCII case. Header names are
// case-insensitive; methods are not (use ==).
inline bool ascii_iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (detail::lower(a[i]) != detail::lower(b[i])) return false;
  }
  return true;
}

// equals_lowercase()
//
// Returns whether `s`, lowercased, equals `lowercase` (already lowercase):
// half the work of ascii_iequals() for names a policy lowercased up front.
inline bool equals_lowercase(std::string_view s, std::string_view lowercase) noexcept {
  if (s.size() != lowercase.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (detail::lower(s[i]) != lowercase[i]) return false;
  }
  return true;
}

// ascii_lowercase()
//
// Returns `s` with ASCII letters lowercased (for configuration, not the
// decision path: it allocates).
inline std::string ascii_lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = detail::lower(c);
  return out;
}

// trim_ows()
//
// Returns `s` without leading and trailing spaces and tabs.
std::string_view trim_ows(std::string_view s) noexcept;

// ListCursor
//
// Walks the elements of an RFC 9110 #list spread over one or more header
// lines: `next()` yields each element trimmed of OWS and skips empty ones
// (", ,a" has one element), so a line of a million commas costs one pass.
class ListCursor {
 public:
  explicit ListCursor(std::span<const std::string_view> lines) noexcept : lines_(lines) {}

  // Stores the next element in `out` and returns true, or returns false at the end.
  bool next(std::string_view& out) noexcept;

 private:
  std::span<const std::string_view> lines_;
  std::size_t line_ = 0;
  std::size_t pos_ = 0;
};

// list_contains()
//
// Whether the comma-separated `list` (one header line) names `token`,
// ignoring ASCII case: "Vary: Accept, origin" contains "Origin".
inline bool list_contains(std::string_view list, std::string_view token) noexcept {
  ListCursor cursor(std::span<const std::string_view>(&list, 1));
  std::string_view element;
  while (cursor.next(element)) {
    if (ascii_iequals(element, token)) return true;
  }
  return false;
}

}  // namespace corsd::cors
