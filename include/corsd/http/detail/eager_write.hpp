#pragma once
// File: corsd/http/detail/eager_write.hpp
//
// write_now(): one non-blocking sendmsg() of a sequence of buffers, made
// before any asynchronous write, so that a write the socket takes whole
// (nearly every answer, and every forwarded request of an API call) costs
// the system call and nothing else.
//
// Why: Asio's async_write() sends at once too when it can, but completes
// through the scheduler: the completion is queued, the event loop picks it
// up and resumes the coroutine, and use_awaitable gives the initiation a
// coroutine frame of its own. A proxied request has two such writes, the
// request upstream and the answer to the client. What the socket did not
// take is left to async_write(), which waits for it to drain; an error is
// left to it too, so that it is reported where every other write error is.
// Not a public header: only the sources of the http and proxy layers
// include it.

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <boost/asio/buffer.hpp>
#include <cerrno>
#include <cstddef>
#include <span>

namespace corsd::http {

// What write_now() left to write, and how much it sent.
struct EagerWrite {
  std::span<boost::asio::const_buffer> rest;
  std::size_t sent = 0;
};

namespace detail {

// One non-blocking send of `buffers`: its result, with errno set when it failed.
inline ssize_t send_once(int fd, std::span<const boost::asio::const_buffer> buffers) noexcept {
  constexpr int kFlags = MSG_DONTWAIT | MSG_NOSIGNAL;
  // One buffer (every answer from memory) with send(): the kernel then
  // copies no message header and no vector in.
  if (buffers.size() == 1) return ::send(fd, buffers[0].data(), buffers[0].size(), kFlags);
  // More buffers than this are sent in two writes; no caller has them.
  constexpr std::size_t kMaxIovecs = 16;
  std::array<iovec, kMaxIovecs> iov;
  const std::size_t count = buffers.size() < kMaxIovecs ? buffers.size() : kMaxIovecs;
  for (std::size_t i = 0; i < count; ++i) {
    iov[i].iov_base = const_cast<void*>(buffers[i].data());  // sendmsg() only reads it
    iov[i].iov_len = buffers[i].size();
  }
  msghdr message{};
  message.msg_iov = iov.data();
  message.msg_iovlen = count;
  return ::sendmsg(fd, &message, kFlags);
}

}  // namespace detail

// write_now()
//
// Sends what the connected socket `fd` takes of `buffers` without waiting.
// The buffers it returns are the part of `buffers` that was not sent (the
// first one advanced past what went of it): empty when everything went.
inline EagerWrite write_now(int fd, std::span<boost::asio::const_buffer> buffers) noexcept {
  ssize_t n;
  do {
    n = detail::send_once(fd, buffers);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return {buffers, 0};  // full, or an error: async_write() waits, or meets it
  const auto sent = static_cast<std::size_t>(n);
  std::size_t skip = sent;
  std::size_t first = 0;
  while (first < buffers.size() && skip >= buffers[first].size()) skip -= buffers[first++].size();
  if (first < buffers.size()) buffers[first] += skip;
  return {buffers.subspan(first), sent};
}

// EagerWrites
//
// The writes of one exchange: write_now() while the socket takes them
// whole; once one found it full (a large body, a slow reader), nothing, so
// that a stream keeping the socket full pays no failed send before each of
// async_write()'s waits.
class EagerWrites {
 public:
  EagerWrite write(int fd, std::span<boost::asio::const_buffer> buffers) noexcept {
    if (!eager_) return {buffers, 0};
    const EagerWrite w = write_now(fd, buffers);
    eager_ = w.rest.empty();
    return w;
  }

 private:
  bool eager_ = true;
};

}  // namespace corsd::http
