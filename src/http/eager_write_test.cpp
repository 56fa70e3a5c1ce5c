#include "corsd/http/detail/eager_write.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <string>
#include <vector>

namespace corsd::http {
namespace {

namespace net = boost::asio;

// A connected pair of Unix stream sockets, closed on every way out.
struct SocketPair {
  SocketPair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds.data()), 0); }
  ~SocketPair() {
    for (int fd : fds) ::close(fd);
  }
  std::array<int, 2> fds{-1, -1};
};

std::string read_all_available(int fd) {
  std::string got;
  char chunk[65536];
  for (ssize_t n; (n = ::recv(fd, chunk, sizeof chunk, MSG_DONTWAIT)) > 0;)
    got.append(chunk, static_cast<std::size_t>(n));
  return got;
}

TEST(EagerWriteTest, WhatTheSocketTakesWholeLeavesNothing) {
  SocketPair pair;
  const std::string head = "HTTP/1.1 200 OK\r\n\r\n";
  const std::string body = "hello";
  std::array buffers{net::buffer(head), net::const_buffer(), net::buffer(body)};
  const EagerWrite w = write_now(pair.fds[0], buffers);
  EXPECT_TRUE(w.rest.empty());
  EXPECT_EQ(w.sent, head.size() + body.size());
  EXPECT_EQ(read_all_available(pair.fds[1]), head + body);
}

TEST(EagerWriteTest, WhatTheSocketCannotTakeIsLeftFromTheExactByte) {
  SocketPair pair;
  const int small = 4096;
  ASSERT_EQ(::setsockopt(pair.fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  // Three buffers, far more than the socket holds: the first sendmsg()
  // stops inside one of them.
  const std::string a(1000, 'a'), b(300000, 'b'), c(5000, 'c');
  std::array buffers{net::buffer(a), net::buffer(b), net::buffer(c)};
  const EagerWrite w = write_now(pair.fds[0], buffers);
  ASSERT_GT(w.sent, 0u);
  ASSERT_LT(w.sent, a.size() + b.size() + c.size());
  std::string got = read_all_available(pair.fds[1]);
  EXPECT_EQ(got.size(), w.sent);
  // What is left, sent on, completes the stream byte for byte.
  std::span<net::const_buffer> rest = w.rest;
  EXPECT_EQ(net::buffer_size(rest), a.size() + b.size() + c.size() - w.sent);
  while (!rest.empty()) {
    const EagerWrite next = write_now(pair.fds[0], rest);
    rest = next.rest;
    got += read_all_available(pair.fds[1]);
  }
  EXPECT_EQ(got, a + b + c);
}

TEST(EagerWriteTest, MoreBuffersThanOneSendTakesAreLeftInOrder) {
  SocketPair pair;
  std::vector<std::string> parts;
  for (int i = 0; i < 20; ++i)
    parts.push_back(std::string(static_cast<std::size_t>(i + 1), static_cast<char>('a' + i)));
  std::vector<net::const_buffer> buffers;
  std::string whole;
  for (const auto& part : parts) {
    buffers.push_back(net::buffer(part));
    buffers.push_back(net::const_buffer());  // empty ones on the way are skipped
    whole += part;
  }
  std::span<net::const_buffer> rest(buffers);
  std::string got;
  for (int writes = 1; !rest.empty(); ++writes) {
    ASSERT_LE(writes, 3) << "each write must take what it can";
    rest = write_now(pair.fds[0], rest).rest;
    got += read_all_available(pair.fds[1]);
  }
  EXPECT_EQ(got, whole);
}

TEST(EagerWriteTest, AFullSocketOrAnErrorLeavesEverythingForTheAsynchronousWrite) {
  SocketPair pair;
  const std::string data(1 << 20, 'x');
  std::array one{net::buffer(data)};
  while (write_now(pair.fds[0], one).sent > 0) {
  }  // filled
  std::array buffers{net::buffer(data), net::buffer(data)};
  EagerWrite w = write_now(pair.fds[0], buffers);
  EXPECT_EQ(w.sent, 0u);
  EXPECT_EQ(w.rest.size(), 2u);
  ::close(pair.fds[1]);
  pair.fds[1] = -1;
  w = write_now(pair.fds[0], buffers);  // EPIPE, and no SIGPIPE
  EXPECT_EQ(w.sent, 0u);
  EXPECT_EQ(net::buffer_size(w.rest), 2 * data.size());
}

TEST(EagerWriteTest, AfterAWriteFoundTheSocketFullTheExchangeWritesNoMoreEagerly) {
  SocketPair pair;
  const std::string data(1 << 20, 'x');
  EagerWrites writes;
  std::array first{net::buffer(data)};
  ASSERT_FALSE(writes.write(pair.fds[0], first).rest.empty());  // more than the socket holds
  read_all_available(pair.fds[1]);                              // room again
  const std::string small = "next";
  std::array second{net::buffer(small)};
  const EagerWrite w = writes.write(pair.fds[0], second);
  EXPECT_EQ(w.sent, 0u);
  EXPECT_EQ(w.rest.size(), 1u);  // left for async_write()
  EXPECT_EQ(EagerWrites().write(pair.fds[0], second).sent, small.size());
}

}  // namespace
}  // namespace corsd::http
