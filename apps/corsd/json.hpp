#pragma once
// The little JSON the subcommands print (--json): strings escaped as JSON
// requires, and lists.

#include <string>
#include <string_view>

namespace corsd::cli {

inline std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (b < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[b >> 4];
      out += kHex[b & 0xf];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

template <typename List, typename Item>
std::string json_list(const List& list, Item item) {
  std::string out = "[";
  for (const auto& x : list) out += (out.size() > 1 ? "," : "") + item(x);
  return out + "]";
}

}  // namespace corsd::cli
