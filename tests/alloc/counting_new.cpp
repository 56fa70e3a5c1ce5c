#include "counting_new.hpp"

#include <cstdlib>
#include <new>

namespace corsd::test {
namespace {
thread_local std::size_t allocations = 0;
}  // namespace

std::size_t allocations_on_this_thread() noexcept { return allocations; }

}  // namespace corsd::test

void* operator new(std::size_t size) {
  ++corsd::test::allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return ::operator new(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  ++corsd::test::allocations;
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept { return ::operator new(size, tag); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
