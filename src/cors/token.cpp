#include "corsd/cors/token.hpp"

#include <array>

namespace corsd::cors {
namespace {

constexpr std::array<bool, 256> make_tchar_table() {
  std::array<bool, 256> t{};
  for (char c = '0'; c <= '9'; ++c) t[static_cast<unsigned char>(c)] = true;
  for (char c = 'a'; c <= 'z'; ++c) t[static_cast<unsigned char>(c)] = true;
  for (char c = 'A'; c <= 'Z'; ++c) t[static_cast<unsigned char>(c)] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> kTchar = make_tchar_table();

constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

bool is_token(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    if (!kTchar[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

bool ascii_iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool ListCursor::next(std::string_view& out) noexcept {
  while (line_ < lines_.size()) {
    const std::string_view line = lines_[line_];
    while (pos_ <= line.size()) {
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
