#pragma once
// The kernel's count of data-carrying TCP segments a socket received: how a
// test sees, from outside, how many writes the server made.

#include <cstdint>

namespace corsd::test {

// Returns tcpi_data_segs_in for `fd` (Linux 4.6+), or -1.
std::int64_t data_segments_in(int fd);

}  // namespace corsd::test
