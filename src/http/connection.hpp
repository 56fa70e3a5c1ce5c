#pragma once
// One client connection: reads, parses every complete request it has,
// answers buffered requests in order into one output buffer, writes that
// buffer once, reads again. A request whose handler streams takes the
// connection over (see exchange.hpp) until it ends. Deadlines are checked
// by the worker's ticker, not by a timer per read. Over TLS (Socket a
// TlsSocket) the same, after the handshake.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include "buffer_pool.hpp"
#include "corsd/http/access_log.hpp"
#include "corsd/http/detail/drained_read.hpp"
#include "corsd/http/detail/eager_write.hpp"
#include "corsd/http/handler.hpp"
#include "corsd/http/input_buffer.hpp"
#include "corsd/http/tls.hpp"
#include "net.hpp"
#include "tls_stream.hpp"

namespace corsd::http {

class Worker;
class H2Session;

using TlsSocket = TlsStream;

// Socket: tcp::socket, or TlsSocket (whose context `credentials` own, and
// keep for the connection's life whatever a reload does).
template <typename Socket>
class Connection final : public Watched {
  static constexpr bool kTls = std::is_same_v<Socket, TlsSocket>;

 public:
  Connection(Socket socket, std::shared_ptr<const TlsCredentials> credentials, Worker& worker, Handler& handler);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // How run() ended: the connection closed, or it waits for its client's
  // next bytes holding no buffer (see serve_connection()).
  enum class Outcome { closed, waiting };

  // run()
  //
  // Serves requests until the connection closes or waits without buffers;
  // `readable`: resumed because the client's next bytes (or its close) are
  // there. Called again after each wait.
  net::awaitable<Outcome> run(bool readable);

  // The TCP socket under the connection (under TLS too): what a wait for
  // the client's next bytes waits on.
  tcp::socket& tcp_socket() noexcept {
    if constexpr (kTls) {
      return socket_.next_layer();
    } else {
      return socket_;
    }
  }

  // Aborts the connection's I/O; run() then returns.
  void expire() noexcept override;
  clock::time_point deadline() const noexcept override { return std::min(read_deadline_, write_deadline_); }
  // Whether the connection waits for a next request with nothing buffered.
  // What a shutdown may close at once: a connection between requests with
  // nothing of a next one arrived. A connection accepted less than
  // kFirstRequestGrace ago is not yet: its first request may be on its way
  // (it is answered, with Connection: close).
  bool idle() const noexcept override;
  // A connection waiting for its next request since kShedAfter gives its
  // buffers back to the worker's pool (its read is cancelled, and it waits
  // for the client's next bytes without a buffer).
  void shed(clock::time_point now) noexcept override;
  void on_drain() noexcept override;

 private:
  class Stream;
  enum class Step { need_more, flush, stream, close };
  enum class StreamEnd { keep_alive, close, reset };

  Step serve_buffered();
  Step on_head();
  bool answer();
  void answer_error(unsigned status, std::string_view message);
  void answer_refused_method();
  // For /metrics: an answer's status class, and the time since its head.
  void count_response(unsigned status) noexcept;
  void observe_duration() noexcept;
  // The access log's line for this request, when it is on; `request` null:
  // a request too malformed to name.
  void log_access(const Request* request, unsigned status, std::uint64_t body_bytes);
  // The client's address, looked up once.
  std::string_view peer_address();
  bool skip_empty_lines() noexcept;
  void arm_read_deadline();
  // When a body with `received` bytes so far falls below min_body_rate
  // (see the definition).
  clock::time_point body_rate_deadline(std::uint64_t received) noexcept;
  // The client's next bytes, at most `buffer`'s size; `where`: whether a
  // request starts with them (plain TCP: see drained_read.hpp).
  auto read_some(net::mutable_buffer buffer, Read where);
  net::awaitable<bool> write(std::span<const net::const_buffer> buffers);
  std::span<net::const_buffer> write_now(std::span<net::const_buffer> buffers, EagerWrites& writes) noexcept;
  net::awaitable<bool> flush();
  bool flush_now() noexcept;
  bool has_output() const noexcept { return b_ && !b_->out.empty(); }
  void output_sent() noexcept;
  net::awaitable<StreamEnd> serve_stream();
  net::awaitable<void> linger();
  net::awaitable<bool> handshake();
  // The connection's buffers, from the worker's pool and back.
  void acquire_buffers();
  void release_buffers() noexcept;
  // Whether OpenSSL holds bytes of the client's already (no wait for the socket then).
  bool input_pending() noexcept;
  // Serves the connection as HTTP/2 (ALPN chose "h2").
  net::awaitable<void> serve_h2();
  net::awaitable<void> refuse_plain_http();
  net::awaitable<void> drain_plain();
  std::shared_ptr<const TlsCredentials> credentials_;  // before socket_: it outlives the TLS stream
  Socket socket_;
  Worker& worker_;
  Handler& handler_;
  InputBuffer in_;
  // The request's state and the output, while the connection holds buffers
  // (see acquire_buffers()); null while it waits without them.
  std::unique_ptr<ConnectionBuffers> b_;
  std::string peer_;
  clock::time_point read_deadline_;
  clock::time_point write_deadline_ = clock::time_point::max();
  clock::time_point header_deadline_;
  clock::time_point head_at_;  // when the current request's head was parsed
  // The body's current min_body_rate window: when it ends, and how many
  // body bytes had come when it began.
  clock::time_point rate_window_end_;
  std::uint64_t rate_window_base_ = 0;
  const clock::time_point accepted_at_ = clock::now();
  bool header_deadline_armed_ = false;
  bool head_planned_ = false;
  bool continue_sent_ = false;
  bool idle_ = true;
  bool shed_requested_ = false;     // shed() cancelled the read to take the buffers back
  bool handshaken_ = false;         // TLS: run() did the handshake
  clock::time_point idle_since_{};  // when the wait for the next request began
  H2Session* h2_ = nullptr;         // while serve_h2() runs
  std::size_t served_ = 0;
};

}  // namespace corsd::http
