#pragma once
// File: corsd/cors/token.hpp
//
// The few grammar rules of RFC 9110 the engine needs: tokens, case-insensitive
// comparison, and comma-separated lists. All are allocation-free and linear.

#include <span>
#include <string_view>

namespace corsd::cors {

// is_token()
//
// Returns whether `s` is a non-empty RFC 9110 token (1*tchar).
bool is_token(std::string_view s) noexcept;

// ascii_iequals()
//
// Returns whether `a` and `b` are equal ignoring ASCII case. Header names are
// case-insensitive; methods are not (use ==).
bool ascii_iequals(std::string_view a, std::string_view b) noexcept;

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

}  // namespace corsd::cors
