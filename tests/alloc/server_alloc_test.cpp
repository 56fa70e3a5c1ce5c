// The keep-alive path of the real server allocates nothing per request:
// the server runs in this process (so the replaced operator new sees it),
// a client sends bursts of requests over one connection, and the count of
// allocations across a burst of 1,000 requests must be zero.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "corsd/app/gateway.hpp"
#include "corsd/http/access_log.hpp"
#include "corsd/http/server.hpp"
#include "corsd/testing/loopback.hpp"
#include "counting_new.hpp"

namespace corsd::test {
namespace {

// Sends `request` and reads `response_size` bytes, `times` times, without
// allocating. Returns the bytes read.
std::size_t exchange_n(int fd, std::string_view request, std::size_t response_size, int times) {
  char buffer[65536];
  std::size_t total = 0;
  for (int i = 0; i < times; ++i) {
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) break;
    std::size_t got = 0;
    while (got < response_size) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return total + got;
      got += static_cast<std::size_t>(n);
    }
    total += got;
  }
  return total;
}

std::size_t response_size(int fd, std::string_view request) {
  char buffer[65536];
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string_view seen;
  std::size_t got = 0;
  // One response: headers, then Content-Length bytes.
  for (;;) {
    const ssize_t n = ::recv(fd, buffer + got, sizeof buffer - got, 0);
    if (n <= 0) return 0;
    got += static_cast<std::size_t>(n);
    seen = std::string_view(buffer, got);
    const std::size_t end = seen.find("\r\n\r\n");
    if (end == std::string_view::npos) continue;
    const std::size_t cl = seen.find("Content-Length: ");
    const std::size_t length =  // a 204 has none
        cl > end ? 0 : std::stoul(std::string(seen.substr(cl + 16, seen.find("\r\n", cl) - cl - 16)));
    if (got >= end + 4 + length) return end + 4 + length;
  }
}

class ServerAllocationTest : public ::testing::TestWithParam<const char*> {};

// 1,000 requests over one keep-alive connection, after a warm-up; returns
// the allocations of the whole process meanwhile, the access log's writer
// thread included.
std::size_t allocations_of_a_burst(const char* request, http::AccessLog* access_log);

TEST_P(ServerAllocationTest, KeepAliveBurstAllocatesNothing) {
  EXPECT_EQ(allocations_of_a_burst(GetParam(), nullptr), 0u) << "allocations during 1,000 keep-alive requests";
}

TEST_P(ServerAllocationTest, WithTheAccessLogOnToo) {
  const std::string file = ::testing::TempDir() + "corsd-alloc-access-" + std::to_string(::getpid()) + ".log";
  http::AccessLog access_log(1);
  ASSERT_EQ(access_log.configure(file, http::AccessLogFormat::json), "");
  EXPECT_EQ(allocations_of_a_burst(GetParam(), &access_log), 0u) << "allocations during 1,000 logged requests";
  EXPECT_GE(access_log.lines(), 1000u);
  EXPECT_EQ(access_log.dropped(), 0u);
  std::remove(file.c_str());
}

std::size_t allocations_of_a_burst(const char* request_text, http::AccessLog* access_log) {
  app::Gateways gateways(std::make_shared<const app::Site>());
  http::Server server({http::Limits{}, 1, access_log});
  const http::Listening listening = server.listen("127.0.0.1", 0, gateways.factory());
  EXPECT_TRUE(listening.ok()) << listening.error;
  std::thread runner([&] { server.run(); });

  const int fd = testing::connect_loopback(listening.port);
  EXPECT_GE(fd, 0);
  const std::string_view request = request_text;
  const std::size_t size = response_size(fd, request);
  EXPECT_GT(size, 0u);
  exchange_n(fd, request, size, 100);  // warm-up: buffers reach their working size

  const std::size_t before = allocations_in_process();
  const std::size_t bytes = exchange_n(fd, request, size, 1000);
  // The writer thread empties the rings every 100 ms: once at least, counted.
  if (access_log != nullptr) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  const std::size_t allocated = allocations_in_process() - before;

  ::close(fd);
  server.stop();
  runner.join();
  EXPECT_EQ(bytes, 1000 * size);
  return allocated;
}

INSTANTIATE_TEST_SUITE_P(
    Requests, ServerAllocationTest,
    ::testing::Values("OPTIONS /some/url HTTP/1.1\r\nHost: localhost\r\nOrigin: http://localhost:8081\r\n"
                      "Access-Control-Request-Method: PUT\r\nAccess-Control-Request-Headers: content-type\r\n\r\n",
                      "PUT /some/url HTTP/1.1\r\nHost: localhost\r\nOrigin: http://localhost:8081\r\n"
                      "Content-Type: application/json\r\nContent-Length: 26\r\n\r\n{\"name\":\"Tricia\",\"age\":37}"),
    [](const ::testing::TestParamInfo<const char*>& p) { return p.index == 0 ? "Preflight" : "PutEcho"; });

}  // namespace
}  // namespace corsd::test
