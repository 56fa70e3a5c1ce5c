#pragma once
// Counts heap allocations made by this thread, through a replaced global
// operator new and replaced aligned_alloc and posix_memalign, which Asio
// uses for its coroutine frames (counting_new.cpp). A test binary that
// links it can assert that a code path allocates nothing.

#include <cstddef>

namespace corsd::test {

std::size_t allocations_on_this_thread() noexcept;
void count() noexcept;
// Every thread's allocations since the process started.
std::size_t allocations_in_process() noexcept;

}  // namespace corsd::test
