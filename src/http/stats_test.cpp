#include "corsd/http/stats.hpp"

#include <gtest/gtest.h>

namespace corsd::http {
namespace {

using namespace std::chrono_literals;

TEST(DurationHistogramTest, AnObservationOnABoundCountsInThatBucket) {
  DurationHistogram h;
  h.observe(100us);  // the first bound, 0.0001 s: "le" includes it
  h.observe(101us);
  h.observe(10s);  // over the last bound: +Inf
  EXPECT_EQ(h.bucket(0), 1u);
  EXPECT_EQ(h.bucket(1), 1u);
  EXPECT_EQ(h.bucket(DurationHistogram::kBoundsNs.size()), 1u);
  EXPECT_EQ(h.sum_ns(), 100'000u + 101'000u + 10'000'000'000u);
}

TEST(StatsTableTest, LabelsKeepTheirSlotAndThoseOverCapacityShareOther) {
  StatsTable<Counter, 3> table;
  table.slot("/a").add();
  table.slot("/b").add();
  table.slot("/a").add();
  table.slot("/c").add(5);  // the last slot: "other" from now on
  table.slot("/d").add();
  const auto slots = table.published();
  ASSERT_EQ(slots.size(), 3u);
  EXPECT_EQ(slots[0].label, "/a");
  EXPECT_EQ(slots[0].stats.value(), 2u);
  EXPECT_EQ(slots[1].label, "/b");
  EXPECT_EQ(slots[2].label, "other");
  EXPECT_EQ(slots[2].stats.value(), 6u);
}

}  // namespace
}  // namespace corsd::http
