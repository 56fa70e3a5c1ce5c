#include "port_guard.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <vector>

namespace corsd::http {
namespace {

// A listening TCP socket with SO_REUSEPORT, closed at the end of the test.
class Listener {
 public:
  // On `address` (IPv4 or IPv6 text) and `port` (0: any); dual-stack unless
  // `v6_only`.
  Listener(const char* address, std::uint16_t port, bool v6_only = false) {
    const bool v6 = std::string_view(address).find(':') != std::string_view::npos;
    fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const int one = 1;
    const int only = v6_only ? 1 : 0;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    sockaddr_storage storage{};
    socklen_t length = 0;
    if (v6) {
      ::setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof only);
      auto& in6 = reinterpret_cast<sockaddr_in6&>(storage);
      in6.sin6_family = AF_INET6;
      in6.sin6_port = htons(port);
      ::inet_pton(AF_INET6, address, &in6.sin6_addr);
      length = sizeof in6;
    } else {
      auto& in = reinterpret_cast<sockaddr_in&>(storage);
      in.sin_family = AF_INET;
      in.sin_port = htons(port);
      ::inet_pton(AF_INET, address, &in.sin_addr);
      length = sizeof in;
    }
    ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&storage), length) == 0 && ::listen(fd_, 1024) == 0;
    length = sizeof storage;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&storage), &length);
    port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6&>(storage).sin6_port
                     : reinterpret_cast<sockaddr_in&>(storage).sin_port);
  }
  ~Listener() { ::close(fd_); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  bool ok() const { return ok_; }
  int fd() const { return fd_; }
  std::uint16_t port() const { return port_; }

  // Accepts and closes what is queued; returns how many there were.
  int drain() const {
    int count = 0;
    for (int c; (c = ::accept(fd_, nullptr, nullptr)) >= 0; ++count) ::close(c);
    return count;
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
  std::uint16_t port_ = 0;
};

tcp::endpoint endpoint(const char* address, std::uint16_t port) { return {net::ip::make_address(address), port}; }

bool in_use(const error_code& ec) { return ec == boost::system::errc::address_in_use; }

TEST(PortGuardTest, PortTakenSeesAnyListener) {
  const Listener theirs("127.0.0.1", 0);
  ASSERT_TRUE(theirs.ok());
  EXPECT_TRUE(in_use(port_taken(endpoint("127.0.0.1", theirs.port()))));
  EXPECT_TRUE(in_use(port_taken(endpoint("0.0.0.0", theirs.port()))));
}

TEST(PortGuardTest, ASocketThatJoinedOurGroupIsFound) {
  const Listener ours("127.0.0.1", 0);
  const Listener also_ours("127.0.0.1", ours.port());
  const Listener theirs("127.0.0.1", ours.port());
  ASSERT_TRUE(ours.ok() && also_ours.ok() && theirs.ok());
  const int mine[] = {ours.fd(), also_ours.fd()};
  EXPECT_TRUE(in_use(foreign_listener(endpoint("127.0.0.1", ours.port()), mine)));
  const int all[] = {ours.fd(), also_ours.fd(), theirs.fd()};
  EXPECT_EQ(foreign_listener(endpoint("127.0.0.1", ours.port()), all), error_code());
}

TEST(PortGuardTest, AWildcardOverlapsEveryAddressOfItsFamily) {
  const Listener wildcard("0.0.0.0", 0);
  const Listener loopback("127.0.0.1", wildcard.port());
  ASSERT_TRUE(wildcard.ok() && loopback.ok());
  const int on_loopback[] = {loopback.fd()};
  EXPECT_TRUE(in_use(foreign_listener(endpoint("127.0.0.1", loopback.port()), on_loopback)));
  const int on_wildcard[] = {wildcard.fd()};
  EXPECT_TRUE(in_use(foreign_listener(endpoint("0.0.0.0", wildcard.port()), on_wildcard)));
}

TEST(PortGuardTest, AnotherAddressOnThePortIsNoConcern) {
  const Listener one("127.0.0.1", 0);
  const Listener other("127.0.0.2", one.port());
  ASSERT_TRUE(one.ok() && other.ok());
  const int ours[] = {other.fd()};
  EXPECT_EQ(foreign_listener(endpoint("127.0.0.2", other.port()), ours), error_code());
}

TEST(PortGuardTest, ADualStackIpv6WildcardOverlapsIpv4AndAnIpv6OnlyOneDoesNot) {
  const Listener v4("127.0.0.1", 0);
  ASSERT_TRUE(v4.ok());
  const int ours[] = {v4.fd()};
  {
    const Listener dual("::", v4.port(), /*v6_only=*/false);
    ASSERT_TRUE(dual.ok()) << std::strerror(errno);
    EXPECT_TRUE(in_use(foreign_listener(endpoint("127.0.0.1", v4.port()), ours)));
  }
  const Listener v6_only("::", v4.port(), /*v6_only=*/true);
  ASSERT_TRUE(v6_only.ok()) << std::strerror(errno);
  EXPECT_EQ(foreign_listener(endpoint("127.0.0.1", v4.port()), ours), error_code());
}

// Without the program, the kernel would give the late socket about a
// third of 300 connections; the chance it gets none is (2/3)^300.
TEST(PortGuardTest, ASocketThatJoinsLaterGetsNoConnection) {
  const Listener first("127.0.0.1", 0);
  const Listener second("127.0.0.1", first.port());
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_EQ(admit_only_first(first.fd(), 2), error_code());
  const Listener late("127.0.0.1", first.port());
  ASSERT_TRUE(late.ok());
  constexpr int kConnections = 300;
  std::vector<int> clients;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(first.port());
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < kConnections; ++i) {
    clients.push_back(::socket(AF_INET, SOCK_STREAM, 0));
    ASSERT_EQ(::connect(clients.back(), reinterpret_cast<sockaddr*>(&to), sizeof to), 0) << std::strerror(errno);
  }
  const int to_first = first.drain();
  const int to_second = second.drain();
  EXPECT_EQ(late.drain(), 0);
  EXPECT_EQ(to_first + to_second, kConnections);
  EXPECT_GT(to_first, kConnections / 4);
  EXPECT_GT(to_second, kConnections / 4);
  for (const int c : clients) ::close(c);
}

TEST(PortGuardTest, AdmittingNoSocketIsRefused) {
  const Listener one("127.0.0.1", 0);
  EXPECT_EQ(admit_only_first(one.fd(), 0), make_error_code(boost::system::errc::invalid_argument));
}

}  // namespace
}  // namespace corsd::http
