// min_body_rate counts only time corsd reads: while a proxy route waits for
// its upstream before taking the body, the client (told to wait by
// "Expect: 100-continue") sends nothing, and that wait is not the client's.
// The upstream here holds its listen queue full for a second and a half
// after the head, so corsd's connect gets through only with a retried SYN,
// two seconds or more after the head: at least two body_timeout windows of 1 s pass before
// corsd reads, and then the body comes at twice the minimum rate. (body_rate.test.mjs has the
// trickles; a slow upstream there cannot fail this, since the bytes already
// buffered carry the windows missed.)

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <string>
#include <thread>

#include "corsd_process.hpp"

namespace corsd::test {
namespace {

// A loopback listener whose queue is full: a listen queue of 1 holds two
// connections, these blockers, not accepted in time, so the kernel drops
// the next SYNs.
struct FullListener {
  Descriptor listener{::socket(AF_INET, SOCK_STREAM, 0)};
  std::array<Descriptor, 2> blockers{Descriptor(::socket(AF_INET, SOCK_STREAM, 0)),
                                     Descriptor(::socket(AF_INET, SOCK_STREAM, 0))};
  std::uint16_t port = 0;
  bool ok = false;

  FullListener() {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof addr;
    const auto* address = reinterpret_cast<sockaddr*>(&addr);
    if (::bind(listener.get(), address, length) != 0 || ::listen(listener.get(), 1) != 0) return;
    ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &length);
    port = ntohs(addr.sin_port);
    for (const Descriptor& blocker : blockers) {
      if (::connect(blocker.get(), address, length) != 0) return;
    }
    ok = true;
  }
};

// Reads until `request` holds a head and `body_length` bytes after it.
bool read_request(int fd, std::size_t body_length, std::string& request) {
  for (char buffer[4096];;) {
    const std::size_t end = request.find("\r\n\r\n");
    if (end != std::string::npos && request.size() >= end + 4 + body_length) return true;
    const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got <= 0) return false;
    request.append(buffer, static_cast<std::size_t>(got));
  }
}

TEST(HeldBodyTest, TimeTheUpstreamHoldsTheBodyBackIsNotCountedAgainstTheClient) {
  const FullListener full;
  ASSERT_TRUE(full.ok);
  const int upstream = full.listener.get();
  const timeval wait{10, 0};
  ::setsockopt(upstream, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  CorsdProcess corsd({"--no-demo", "--threads", "1", "--body-timeout", "1", "--min-body-rate", "100",
                      "--upstream-connect-timeout", "10", "--allow-origin", "https://app.example.com",
                      "--allow-methods", "PUT", "--upstream", "http://127.0.0.1:" + std::to_string(full.port)});
  constexpr std::size_t kBody = 600;
  Client client(corsd.api_port());
  client.send(
      "PUT /items/1 HTTP/1.1\r\nHost: a\r\nOrigin: https://app.example.com\r\nExpect: 100-continue\r\n"
      "Content-Length: " +
      std::to_string(kBody) + "\r\n\r\n");
  std::string received;
  std::jthread upstream_side([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // from the head on
    for (std::size_t i = 0; i < full.blockers.size(); ++i) ::close(::accept(upstream, nullptr, nullptr));
    const int from_corsd = ::accept(upstream, nullptr, nullptr);
    if (from_corsd < 0) return;
    ::setsockopt(from_corsd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    if (read_request(from_corsd, kBody, received)) {
      const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
      ::send(from_corsd, answer.data(), answer.size(), MSG_NOSIGNAL);
    }
    ::close(from_corsd);
  });
  const auto go_on = client.read_response(std::chrono::seconds(8));
  ASSERT_TRUE(go_on);
  EXPECT_EQ(go_on->status, 100);
  // 200 bytes a second, twice the minimum: each window gets its own share,
  // but no read can make up for windows that passed while corsd waited.
  for (std::size_t sent = 0; sent < kBody; sent += 20) {
    client.send(std::string(20, 'x'));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const auto answer = client.read_response(std::chrono::seconds(8));
  upstream_side.join();
  ASSERT_TRUE(answer) << "corsd cut the client off";
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "ok");
  ASSERT_GE(received.size(), kBody);
  EXPECT_EQ(received.substr(received.size() - kBody), std::string(kBody, 'x'));
}

}  // namespace
}  // namespace corsd::test
