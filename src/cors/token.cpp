#include "corsd/cors/detail/token.hpp"

#include <cstdint>
#include <cstring>

namespace corsd::cors {

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

namespace {

// Returns the first index at or after `pos` that is not a list separator
// (comma, space, tab). Eight bytes per step, so a hostile run of separators
// costs a fraction of a nanosecond per byte.
std::size_t skip_separators(std::string_view s, std::size_t pos) noexcept {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kLow7 = 0x7f7f7f7f7f7f7f7fULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  // High bit of each byte of `x` that equals `c`.
  const auto equal_bytes = [](std::uint64_t x, char c) {
    const std::uint64_t t = x ^ (kOnes * static_cast<unsigned char>(c));
    return ~(((t & kLow7) + kLow7) | t) & kHigh;
  };
  while (pos + 8 <= s.size()) {
    std::uint64_t word;
    std::memcpy(&word, s.data() + pos, 8);
    if ((equal_bytes(word, ',') | equal_bytes(word, ' ') | equal_bytes(word, '\t')) != kHigh) break;
    pos += 8;
  }
  while (pos < s.size() && (s[pos] == ',' || s[pos] == ' ' || s[pos] == '\t')) ++pos;
  return pos;
}

}  // namespace

bool ListCursor::next(std::string_view& out) noexcept {
  while (line_ < lines_.size()) {
    const std::string_view line = lines_[line_];
    while (pos_ <= line.size()) {
      pos_ = skip_separators(line, pos_);
      const std::size_t comma = line.find(',', pos_);
      const std::size_t end = comma == std::string_view::npos ? line.size() : comma;
      const std::string_view element = trim_ows(line.substr(pos_, end - pos_));
      pos_ = end + 1;
      if (!element.empty()) {
        out = element;
        return true;
      }
    }
    ++line_;
    pos_ = 0;
  }
  return false;
}

}  // namespace corsd::cors
