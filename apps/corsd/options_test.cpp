#include "options.hpp"

#include <gtest/gtest.h>

namespace corsd::cli {
namespace {

TEST(HostPortTest, AcceptsHostPortIpv6AndBarePort) {
  EXPECT_EQ(parse_host_port("localhost:8080")->host, "localhost");
  EXPECT_EQ(parse_host_port("127.0.0.1:0")->port, 0);
  EXPECT_EQ(parse_host_port("[::1]:9000")->host, "::1");
  EXPECT_EQ(parse_host_port("[::1]:9000")->port, 9000);
  EXPECT_EQ(parse_host_port("8081")->host, "localhost");
}

TEST(HostPortTest, RefusesWhatIsNotHostPort) {
  for (const char* bad : {"", "localhost", "localhost:", ":8080", "localhost:65536", "host:80x", "::1:80", "[::1]"}) {
    EXPECT_FALSE(parse_host_port(bad)) << bad;
  }
}

}  // namespace
}  // namespace corsd::cli
