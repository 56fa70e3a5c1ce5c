#pragma once
// What every fuzz target checks its invariants with: a violation aborts, so
// that libFuzzer reports the input (assert() would vanish under NDEBUG).

#include <cstdlib>

namespace corsd::fuzz {

inline void require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace corsd::fuzz
