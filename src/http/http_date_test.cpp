#include "http_date.hpp"

#include <gtest/gtest.h>

namespace corsd::http {
namespace {

TEST(HttpDateTest, FormatsImfFixdate) {
  HttpDate d;
  format_http_date(784111777, d);  // RFC 9110's example
  EXPECT_EQ(view(d), "Sun, 06 Nov 1994 08:49:37 GMT");
  format_http_date(0, d);
  EXPECT_EQ(view(d), "Thu, 01 Jan 1970 00:00:00 GMT");
  format_http_date(1795611600, d);
  EXPECT_EQ(view(d), "Wed, 25 Nov 2026 13:00:00 GMT");
}

}  // namespace
}  // namespace corsd::http
