#include "counting_new.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace corsd::test {
namespace {
thread_local std::size_t allocations = 0;
std::atomic<std::size_t> process_allocations{0};

void count() noexcept {
  ++allocations;
  process_allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

std::size_t allocations_on_this_thread() noexcept { return allocations; }
std::size_t allocations_in_process() noexcept { return process_allocations.load(); }

}  // namespace corsd::test

void* operator new(std::size_t size) {
  corsd::test::count();
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return ::operator new(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  corsd::test::count();
  return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept { return ::operator new(size, tag); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
