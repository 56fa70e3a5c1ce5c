#pragma once
// File: corsd/detail/string_hash.hpp
// Internal: installed because public headers or corsd's own tools use it,
// but not part of the library's API; it may change in any release.
//
// A transparent hash so std::unordered_{set,map}<std::string> can be
// searched with a std::string_view without building a std::string.

#include <cstddef>
#include <functional>
#include <string_view>

namespace corsd {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

}  // namespace corsd
