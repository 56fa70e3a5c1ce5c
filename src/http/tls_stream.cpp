#include "tls_stream.hpp"

#include <openssl/err.h>

#include <array>
#include <boost/asio/ssl/error.hpp>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string>

namespace corsd::http {

TlsStream::TlsStream(tcp::socket socket, SSL_CTX* context) : socket_(std::move(socket)), ssl_(SSL_new(context)) {
  error_code ignored;
  socket_.non_blocking(true, ignored);  // OpenSSL's reads and writes must not block the worker
  if (ssl_ != nullptr) {
    SSL_set_fd(ssl_, static_cast<int>(socket_.native_handle()));
    SSL_set_accept_state(ssl_);
    // A write OpenSSL could not finish is tried again from wherever the
    // caller's bytes are then.
    SSL_set_mode(ssl_, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  }
}

TlsStream::TlsStream(TlsStream&& other) noexcept : socket_(std::move(other.socket_)), ssl_(other.ssl_) {
  other.ssl_ = nullptr;
}

TlsStream::~TlsStream() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

error_code TlsStream::classify(int result, tcp::socket::wait_type& wait) noexcept {
  const int reason = SSL_get_error(ssl_, result);
  error_code ec;
  if (reason == SSL_ERROR_WANT_READ || reason == SSL_ERROR_WANT_WRITE) {
    wait = reason == SSL_ERROR_WANT_READ ? tcp::socket::wait_read : tcp::socket::wait_write;
  } else if (reason == SSL_ERROR_ZERO_RETURN) {
    ec = net::error::eof;  // the client's close_notify
  } else if (reason == SSL_ERROR_SYSCALL && errno != 0) {
    ec = error_code(errno, boost::system::system_category());
  } else if (reason == SSL_ERROR_SYSCALL) {
    ec = net::ssl::error::stream_truncated;  // closed without close_notify
  } else {
    const unsigned long e = ERR_get_error();
    ec = e != 0 ? error_code(static_cast<int>(e), net::error::get_ssl_category()) : net::error::connection_aborted;
  }
  ERR_clear_error();
  return ec;
}

net::awaitable<error_code> TlsStream::wait_for(int result) {
  auto what = tcp::socket::wait_read;
  if (const error_code ec = classify(result, what)) co_return ec;
  auto [ec] = co_await socket_.async_wait(what, use_tuple);
  co_return ec;
}

std::size_t TlsStream::read_now(net::mutable_buffer buffer, error_code& ec, tcp::socket::wait_type& wait) noexcept {
  errno = 0;
  const int n = SSL_read(ssl_, buffer.data(), static_cast<int>(std::min<std::size_t>(buffer.size(), 1 << 30)));
  if (n > 0) return static_cast<std::size_t>(n);
  ec = classify(n, wait);
  return 0;
}

net::awaitable<error_code> TlsStream::handshake() {
  if (ssl_ == nullptr) co_return net::error::no_memory;
  for (;;) {
    const int result = SSL_do_handshake(ssl_);
    if (result == 1) co_return error_code{};
    if (const error_code ec = co_await wait_for(result)) co_return ec;
  }
}

net::awaitable<std::tuple<error_code, std::size_t>> TlsStream::read_some(net::mutable_buffer buffer) {
  const int size = static_cast<int>(std::min<std::size_t>(buffer.size(), std::numeric_limits<int>::max()));
  for (;;) {
    errno = 0;
    const int n = SSL_read(ssl_, buffer.data(), size);
    if (n > 0) co_return std::tuple{error_code{}, static_cast<std::size_t>(n)};
    if (const error_code ec = co_await wait_for(n)) co_return std::tuple{ec, std::size_t{0}};
  }
}

net::awaitable<std::tuple<error_code, std::size_t>> TlsStream::write(std::span<const net::const_buffer> buffers) {
  std::size_t total = 0;
  for (const net::const_buffer& b : buffers) total += b.size();
  if (buffers.size() > 1 && total <= kGatherBytes) {
    // A small answer's head and body in one record and one system call,
    // gathered in the thread's buffer; what OpenSSL cannot take at once is
    // kept in the stream's own (the thread's is another connection's by
    // the time the socket can take more).
    thread_local std::array<char, kGatherBytes> gathered;
    std::size_t at = 0;
    for (const net::const_buffer& b : buffers) {
      std::memcpy(gathered.data() + at, b.data(), b.size());
      at += b.size();
    }
    errno = 0;
    const int n = SSL_write(ssl_, gathered.data(), static_cast<int>(total));
    if (n > 0) co_return std::tuple{error_code{}, total};
    auto what = tcp::socket::wait_read;
    if (const error_code ec = classify(n, what)) co_return std::tuple{ec, std::size_t{0}};
    const std::string pending(gathered.data(), total);
    const std::array one{net::const_buffer(pending.data(), pending.size())};
    co_return co_await write_each(one);
  }
  co_return co_await write_each(buffers);
}

net::awaitable<std::tuple<error_code, std::size_t>> TlsStream::write_each(std::span<const net::const_buffer> buffers) {
  std::size_t written = 0;
  for (const net::const_buffer& b : buffers) {
    const char* data = static_cast<const char*>(b.data());
    std::size_t left = b.size();
    while (left > 0) {
      errno = 0;
      const int n = SSL_write(ssl_, data, static_cast<int>(std::min<std::size_t>(left, 1 << 30)));
      if (n > 0) {
        data += n;
        left -= static_cast<std::size_t>(n);
        written += static_cast<std::size_t>(n);
        continue;
      }
      if (const error_code ec = co_await wait_for(n)) co_return std::tuple{ec, written};
    }
  }
  co_return std::tuple{error_code{}, written};
}

net::awaitable<void> TlsStream::shutdown() {
  for (;;) {
    errno = 0;
    const int result = SSL_shutdown(ssl_);
    if (result >= 0) break;  // close_notify sent (0: the client's not yet read)
    if (co_await wait_for(result)) co_return;
  }
  char drop[4096];
  for (;;) {
    auto [ec, n] = co_await read_some(net::buffer(drop));
    if (ec) co_return;
  }
}

}  // namespace corsd::http
