#pragma once
// One thread's share of the server: an io_context, its own listening
// sockets and handlers, its connections, the Date it stamps, and a ticker
// that enforces deadlines and drives graceful shutdown. Nothing here is
// shared with other workers.

#include <memory>
#include <span>
#include <vector>

#include "buffer_pool.hpp"
#include "corsd/http/access_log.hpp"
#include "corsd/http/detail/drained_read.hpp"
#include "corsd/http/handler.hpp"
#include "corsd/http/limits.hpp"
#include "corsd/http/server.hpp"
#include "corsd/http/tls.hpp"
#include "corsd/http/worker_context.hpp"
#include "http_date.hpp"
#include "net.hpp"
#include "socket_states.hpp"

namespace corsd::http {

class Worker final : public WorkerContext {
 public:
  // `warnings`: see ServerOptions.
  Worker(const Limits& limits, unsigned index, AccessLog* access_log, AccessLog* warnings);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  unsigned index() const noexcept override { return index_; }
  net::io_context& io() noexcept override { return io_; }
  std::string_view date() const noexcept override { return view(date_); }
  bool draining() const noexcept override { return draining_; }
  WorkerStats& stats() noexcept override { return stats_; }
  const WorkerStats& stats() const noexcept { return stats_; }
  void watch(Watched& w) noexcept override;
  void unwatch(Watched& w) noexcept override;
  const Limits& limits() const noexcept { return limits_; }
  // The io_context's reactor, which async_read_drained() reads through.
  Reactor& reactor() noexcept { return reactor_; }
  // The client connections' buffers that no connection holds now.
  BufferPool& buffers() noexcept { return buffers_; }
  // A buffer lent for the length of one synchronous step (an HTTP/2
  // session reads into it and hands it all to nghttp2 at once).
  std::span<char> scratch() noexcept { return {scratch_.get(), kScratchBytes}; }

  // Whether the access log wants lines now.
  bool logging() const noexcept { return access_log_ != nullptr && access_log_->enabled(); }
  // log_access()
  //
  // Formats `record` and queues it on this worker's ring of the access log;
  // only when logging().
  void log_access(const AccessRecord& record) noexcept;
  // Queues a warning line (ending in '\n') for standard error; never blocks.
  void warn(std::string_view line) noexcept;
  // log_exchange()
  //
  // The access log's line for one answered request (`request` null: one
  // too malformed to name), when logging().
  void log_exchange(std::string_view peer, const Request* request, unsigned status, std::uint64_t body_bytes,
                    std::chrono::steady_clock::duration duration, AccessNote& note);
  // An answer's status class, for /metrics.
  void count_response(unsigned status) noexcept {
    if (status >= 100 && status < 600) stats_.responses[status / 100].add();
  }

  // Makes this worker's handler for one listen() call, kept as long as the
  // worker: every address of that call shares it (and its upstream pools).
  Handler& add_handler(const HandlerFactory& factory);
  // Serves `acceptor` with `handler`; accepting starts at once if the worker
  // is running.
  void add_acceptor(tcp::acceptor acceptor, Handler& handler, ListenOptions options = {});
  // Runs the io_context until shutdown has finished.
  void run();
  // Stops accepting, closes idle connections, and gives the others until
  // the shutdown grace to finish. Call on the worker's own thread (post it).
  void begin_shutdown();

  // use_tls()
  //
  // The certificates that TLS listeners present from now on; connections
  // already open keep theirs. On the worker's thread, or before run().
  void use_tls(std::shared_ptr<const TlsCredentials> credentials) noexcept { tls_ = std::move(credentials); }

  // A client connection's arrival and end (counted, and watched for deadlines).
  void attach(Watched& c) noexcept;
  void detach(Watched& c) noexcept;

 private:
  struct Listener {
    tcp::acceptor acceptor;
    Handler* handler;
    ListenOptions options;
  };

  net::awaitable<void> accept_loop(Listener& listener);
  void refuse(tcp::socket& socket) noexcept;
  // Every listener, or (`all` false) those not open while draining.
  void close_listeners(bool all) noexcept;
  net::awaitable<void> tick_loop();
  void tick();

  const Limits& limits_;
  BufferPool buffers_{limits_};
  static constexpr std::size_t kScratchBytes = 16 * 1024;
  std::unique_ptr<char[]> scratch_ = std::make_unique_for_overwrite<char[]>(kScratchBytes);
  const unsigned index_;
  AccessLog* const access_log_;
  AccessLog* const warnings_;
  std::unique_ptr<char[]> line_;  // kMaxAccessLine bytes, where a line is formatted
  // One thread runs this context, so the reactor's per-operation locking is
  // switched off; the scheduler keeps its lock because stop() posts from
  // the control thread.
  net::io_context io_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  std::vector<std::unique_ptr<Handler>> handlers_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::shared_ptr<const TlsCredentials> tls_;
  Reactor& reactor_ = net::use_service<Reactor>(io_);
  SocketStates socket_states_{io_};
  net::steady_timer ticker_{io_};
  HttpDate date_{};
  std::time_t date_second_ = 0;
  Watched* watched_ = nullptr;  // connections and whatever handlers registered
  std::size_t connection_count_ = 0;
  std::size_t peak_connections_ = 0;  // since the heap was last trimmed
  std::size_t refused_ = 0;           // connections refused since the last log line
  WorkerStats stats_;
  std::chrono::steady_clock::time_point last_refusal_log_{};
  bool running_ = false;
  bool draining_ = false;
  std::chrono::steady_clock::time_point force_close_at_{};
};

}  // namespace corsd::http
