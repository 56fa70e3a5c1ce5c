#include "corsd/http/stats.hpp"

#include <algorithm>

namespace corsd::http {

void DurationHistogram::observe(std::chrono::nanoseconds d) noexcept {
  const std::int64_t ns = std::max<std::int64_t>(0, d.count());
  std::size_t i = 0;
  while (i < kBoundsNs.size() && ns > kBoundsNs[i]) ++i;  // "le": the bound itself counts in
  buckets_[i].add();
  sum_ns_.add(static_cast<std::uint64_t>(ns));
}

}  // namespace corsd::http
