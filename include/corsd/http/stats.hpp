#pragma once
// File: corsd/http/stats.hpp
//
// Counters for /metrics. Each worker owns its own and is their only writer:
// an increment is a relaxed load and store of a word the thread already
// holds in its cache (no lock prefix, nothing shared is written on the
// request path); a scrape from any thread reads them and sums the workers.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace corsd::http {

class Counter {
 public:
  void add(std::uint64_t n = 1) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

class Gauge {
 public:
  void add(std::int64_t n) noexcept { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void set(std::int64_t n) noexcept { v_.store(n, std::memory_order_relaxed); }
  std::int64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> v_{0};
};

// Durations in Prometheus's cumulative buckets, counted per bucket here
// (one increment per observation) and accumulated when rendered.
class DurationHistogram {
 public:
  // Upper bounds in nanoseconds: from a preflight answered from memory to a
  // slow upstream (0.1 ms ... 5 s).
  static constexpr std::array<std::int64_t, 14> kBoundsNs = {
      100'000,    250'000,    500'000,     1'000'000,   2'500'000,   5'000'000,     10'000'000,
      25'000'000, 50'000'000, 100'000'000, 250'000'000, 500'000'000, 1'000'000'000, 5'000'000'000};

  // Counted from the first bucket up: most requests take the first step.
  void observe(std::chrono::nanoseconds d) noexcept;

  // By bucket, not cumulative; the last is +Inf.
  std::uint64_t bucket(std::size_t i) const noexcept { return buckets_[i].value(); }
  std::uint64_t sum_ns() const noexcept { return sum_ns_.value(); }

 private:
  std::array<Counter, kBoundsNs.size() + 1> buckets_;
  Counter sum_ns_;
};

// The HTTP side of one worker.
struct WorkerStats {
  Gauge connections_open;
  Counter connections_accepted;
  Counter connections_refused;         // over --max-connections: 503
  std::array<Counter, 6> responses;    // by status class, [1] = 1xx ... [5] = 5xx
  Counter request_body_bytes;          // bodies as received (de-chunked)
  Counter response_bytes;              // everything written to clients
  DurationHistogram request_duration;  // head parsed to answer written
};

// StatsTable
//
// Stats of type T by label ("/api", "127.0.0.1:5000"), for labels that come
// and go with reloads. Written by one worker only; slots are appended,
// never removed or reordered, so a scrape on another thread reads the
// published ones without a lock. Past kCapacity labels, the last slot takes
// the rest under the label "other".
template <typename T, std::size_t kCapacity = 64>
class StatsTable {
 public:
  // slot()
  //
  // The stats of `label`, made at its first use. On the writing worker.
  T& slot(std::string_view label) {
    const std::size_t n = size_.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < n; ++i) {
      if (slots_[i].label == label) return slots_[i].stats;
    }
    if (n == kCapacity) return slots_[kCapacity - 1].stats;
    slots_[n].label = n == kCapacity - 1 ? std::string("other") : std::string(label);
    size_.store(n + 1, std::memory_order_release);  // the label is written before a reader can see the slot
    return slots_[n].stats;
  }

  struct Slot {
    std::string label;
    T stats;
  };

  // The slots so far, from any thread.
  std::span<const Slot> published() const noexcept { return {slots_.data(), size_.load(std::memory_order_acquire)}; }

 private:
  std::array<Slot, kCapacity> slots_;
  std::atomic<std::size_t> size_{0};
};

}  // namespace corsd::http
