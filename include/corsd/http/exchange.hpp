#pragma once
// File: corsd/http/exchange.hpp
//
// One streamed request and its response, as a streaming handler sees it.
// Back-pressure is built in: the connection does not read the socket while
// the handler holds a body slice (the next read_body() releases it), and
// send_body() completes only once the client has taken the bytes (or the
// kernel has buffered them).

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "corsd/http/access_log.hpp"
#include "corsd/http/request.hpp"
#include "corsd/http/response_head.hpp"

namespace corsd::http {

// A slice of the request body. `data` empty and `ok` true: the body has
// ended. `ok` false: the client broke off or sent a malformed body.
struct BodySlice {
  std::string_view data;
  bool ok = true;
};

class Exchange {
 public:
  // The request's head; its `body` is empty.
  virtual const Request& request() const noexcept = 0;
  // The client's address ("127.0.0.1", "::1").
  virtual std::string_view peer_address() = 0;
  // The Date field value of this second.
  virtual std::string_view date() const noexcept = 0;

  // What the client said of its body: a Content-Length, chunked, or neither
  // (no body).
  virtual std::optional<std::uint64_t> body_length() const noexcept = 0;
  virtual bool body_chunked() const noexcept = 0;
  // Whether the whole body has been read.
  virtual bool body_done() const noexcept = 0;

  // read_body()
  //
  // The next slice of the body, valid until the next call. Sends
  // "100 Continue" first when the client asked for it.
  virtual boost::asio::awaitable<BodySlice> read_body() = 0;

  // send_interim()
  //
  // Sends a 1xx answer (not 101) to an HTTP/1.1 client; HTTP/1.0 clients get
  // none. False when the client is gone.
  virtual boost::asio::awaitable<bool> send_interim(const ResponseHead& head) = 0;

  // send_head()
  //
  // Queues the response head with its framing; it goes out with the first
  // body slice or at finish(), so it never waits (not a coroutine: no frame
  // of its own). Chunked framing towards an HTTP/1.0 client becomes
  // close-delimited. False when the exchange is aborted or has a head already.
  virtual bool send_head(const ResponseHead& head, Framing framing) = 0;

  // Slices sent in one write, at most.
  static constexpr std::size_t kMaxSlices = 8;

  // send_body()
  //
  // Sends slices of the response body (nothing for HEAD), together and with
  // the head if it is still queued: one write. False when the client is
  // gone or the slices would pass the declared Content-Length.
  virtual boost::asio::awaitable<bool> send_body(std::span<const std::string_view> slices) = 0;
  boost::asio::awaitable<bool> send_body(std::string_view data) {
    // A coroutine, so that `data` lives in its frame while the write runs.
    co_return co_await send_body(std::span<const std::string_view>(&data, 1));
  }

  // send_last()
  //
  // Sends the last slices of the body and ends the response, in the same
  // one write.
  virtual boost::asio::awaitable<bool> send_last(std::span<const std::string_view> slices) = 0;

  // finish()
  //
  // Ends the response. A body shorter than its Content-Length closes the
  // connection instead, never pretending the body was whole.
  virtual boost::asio::awaitable<bool> finish() = 0;

  // stop_body()
  //
  // Gives up on the rest of the request body (the answer came first): a
  // pending read_body() returns not ok, and the connection closes after the
  // answer instead of parsing a next request out of the unread body.
  virtual void stop_body() noexcept = 0;

  // abort()
  //
  // Ends the exchange without ending the response: the connection closes.
  // Pending reads and writes on it are cancelled.
  virtual void abort() noexcept = 0;

  // What the access log is told of this exchange (CORS, upstream).
  virtual AccessNote& note() noexcept = 0;

  // Whether send_head() has been called.
  virtual bool head_sent() const noexcept = 0;

 protected:
  ~Exchange() = default;
};

}  // namespace corsd::http
