#pragma once
// A server-side TLS connection: OpenSSL reading and writing the socket
// itself (a socket BIO), and the socket's readiness awaited through Asio
// when OpenSSL would block. Unlike Asio's ssl::stream, it keeps no buffers
// of its own (Asio's holds two of 17 KiB for every connection, idle or not);
// OpenSSL's record buffers are given back while a connection is idle
// (SSL_MODE_RELEASE_BUFFERS). Reads and writes may be in flight together,
// as on a socket; one of each at most.

#include <openssl/ssl.h>

#include <cstddef>
#include <span>
#include <tuple>

#include "net.hpp"

namespace corsd::http {

class TlsStream {
 public:
  // A connection accepted on `socket` that presents `context`'s certificate.
  TlsStream(tcp::socket socket, SSL_CTX* context);
  ~TlsStream();
  TlsStream(TlsStream&& other) noexcept;
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;
  TlsStream& operator=(TlsStream&&) = delete;

  tcp::socket& next_layer() noexcept { return socket_; }
  SSL* native_handle() noexcept { return ssl_; }

  // The server's side of the handshake.
  net::awaitable<error_code> handshake();

  // The next decrypted bytes, at most `buffer`'s size: what a socket's
  // async_read_some gives (the token is there to read alike: use_tuple).
  template <typename Token>
  net::awaitable<std::tuple<error_code, std::size_t>> async_read_some(net::mutable_buffer buffer, const Token&) {
    return read_some(buffer);
  }
  net::awaitable<std::tuple<error_code, std::size_t>> read_some(net::mutable_buffer buffer);

  // read_now()
  //
  // What OpenSSL gives without waiting: bytes (more than 0), or 0 with
  // `ec` clear: nothing yet, wait for the socket as `wait` says, then try
  // again. So a caller can read into a buffer it lends for the call only.
  std::size_t read_now(net::mutable_buffer buffer, error_code& ec, tcp::socket::wait_type& wait) noexcept;

  // Writes every byte of `buffers`: in one TLS record when they are small
  // together, else a record (at most 16 KiB) each.
  net::awaitable<std::tuple<error_code, std::size_t>> write(std::span<const net::const_buffer> buffers);

  // Sends close_notify, then reads (and drops) what the client still
  // sends until it closes or the caller's deadline cancels the socket.
  net::awaitable<void> shutdown();

 private:
  // After an OpenSSL call returned `result`: waits for the socket as it
  // asks; an error (or end of stream) otherwise.
  net::awaitable<error_code> wait_for(int result);
  net::awaitable<std::tuple<error_code, std::size_t>> write_each(std::span<const net::const_buffer> buffers);
  // Buffers gathered into one record up to this size (a record holds 16 KiB).
  static constexpr std::size_t kGatherBytes = 16 * 1024;
  // What `result` means: an error, or (clear) the wait it asks for.
  error_code classify(int result, tcp::socket::wait_type& wait) noexcept;

  tcp::socket socket_;
  SSL* ssl_;
};

}  // namespace corsd::http
