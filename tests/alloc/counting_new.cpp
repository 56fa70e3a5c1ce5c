#include "counting_new.hpp"

#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <new>

namespace corsd::test {
namespace {
thread_local std::size_t allocations = 0;
std::atomic<std::size_t> process_allocations{0};
}  // namespace

void count() noexcept {
  ++allocations;
  process_allocations.fetch_add(1, std::memory_order_relaxed);
}

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

// Asio allocates its coroutine frames and operation states with
// aligned_alloc (or posix_memalign), not operator new: counted too, so that
// "nothing allocates" covers them. The real functions are found past this
// executable's own definitions.
extern "C" void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  using Real = void* (*)(std::size_t, std::size_t);
  static const auto real = reinterpret_cast<Real>(::dlsym(RTLD_NEXT, "aligned_alloc"));
  corsd::test::count();
  return real(alignment, size);
}

extern "C" int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
  using Real = int (*)(void**, std::size_t, std::size_t);
  static const auto real = reinterpret_cast<Real>(::dlsym(RTLD_NEXT, "posix_memalign"));
  corsd::test::count();
  return real(out, alignment, size);
}
