#pragma once
// Counts heap allocations made by this thread, through a replaced global
// operator new (counting_new.cpp). A test binary that links it can assert
// that a code path allocates nothing.

#include <cstddef>

namespace corsd::test {

std::size_t allocations_on_this_thread() noexcept;

}  // namespace corsd::test
