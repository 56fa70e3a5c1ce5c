#pragma once
// One thread's share of the server: an io_context, its own listening
// sockets, its connections, the Date it stamps, and a ticker that enforces
// deadlines and drives graceful shutdown. Nothing here is shared with other
// workers.

#include <memory>
#include <vector>

#include "corsd/http/handler.hpp"
#include "corsd/http/limits.hpp"
#include "http_date.hpp"
#include "net.hpp"

namespace corsd::http {

class Connection;

class Worker {
 public:
  explicit Worker(const Limits& limits);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  net::io_context& io() noexcept { return io_; }
  const Limits& limits() const noexcept { return limits_; }
  std::string_view date() const noexcept { return view(date_); }
  bool draining() const noexcept { return draining_; }

  // Serves `acceptor` with `handler` once run() starts.
  void add_acceptor(tcp::acceptor acceptor, Handler& handler);
  // Runs the io_context until shutdown has finished.
  void run();
  // Stops accepting, closes idle connections, and gives the others until
  // the shutdown grace to finish. Call on the worker's own thread (post it).
  void begin_shutdown();

  void attach(Connection& c) noexcept;
  void detach(Connection& c) noexcept;

 private:
  struct Listener {
    tcp::acceptor acceptor;
    Handler* handler;
  };

  net::awaitable<void> accept_loop(Listener& listener);
  net::awaitable<void> tick_loop();
  void tick();

  const Limits& limits_;
  // One thread runs this context, so the reactor's per-operation locking is
  // switched off; the scheduler keeps its lock because stop() posts from
  // the control thread.
  net::io_context io_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  std::vector<std::unique_ptr<Listener>> listeners_;
  net::steady_timer ticker_{io_};
  HttpDate date_{};
  std::time_t date_second_ = 0;
  Connection* connections_ = nullptr;
  std::size_t connection_count_ = 0;
  bool draining_ = false;
  std::chrono::steady_clock::time_point force_close_at_{};
};

}  // namespace corsd::http
