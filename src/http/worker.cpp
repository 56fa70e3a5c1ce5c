#include "worker.hpp"

#include <malloc.h>
#include <unistd.h>

#include <string>

#include "connection.hpp"
#include "corsd/cors/detail/token.hpp"
#include "corsd/http/detail/tls_context.hpp"

namespace corsd::http {
namespace {

constexpr std::chrono::milliseconds kTickPeriod{200};
constexpr std::size_t kTrimAfterFreeing = 1024 * 1024;
constexpr std::size_t kTrimAfterClosing = 1024;
// After accept fails for lack of descriptors, wait before trying again
// rather than spinning.
constexpr std::chrono::milliseconds kAcceptBackoff{100};

// The worker this thread runs, for what its completion handlers log.
thread_local Worker* t_worker = nullptr;

// One write, so that a line never interleaves with another thread's.
void write_stderr(std::string_view line) noexcept {
  [[maybe_unused]] const auto n = ::write(STDERR_FILENO, line.data(), line.size());
}

void log_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    const std::string line = std::string("corsd: connection ended by an exception: ") + x.what() + "\n";
    if (t_worker != nullptr) {
      t_worker->warn(line);
    } else {
      write_stderr(line);
    }
  }
}

template <typename Socket>
using ConnectionPtr = std::unique_ptr<Connection<Socket>>;

template <typename Socket>
void serve_when_readable(ConnectionPtr<Socket> connection);

// serve_connection()
//
// Serves `connection` until it closes, or until it waits for its client's
// next bytes with no buffer (a new connection for its first request, a
// keep-alive one after a second of silence). Then its coroutine ends and a
// plain wait holds it: an idle connection costs its object and one pending
// operation (1.3 KiB), not the 2.6 KiB of a suspended coroutine's frames.
template <typename Socket>
net::awaitable<void> serve_connection(ConnectionPtr<Socket> connection, bool readable) {
  // Not `if (co_await ...)`: GCC 12 compiles that, here, into a trap.
  const auto outcome = co_await connection->run(readable);
  if (outcome == Connection<Socket>::Outcome::waiting) serve_when_readable(std::move(connection));
}

template <typename Socket>
void serve_when_readable(ConnectionPtr<Socket> connection) {
  tcp::socket& socket = connection->tcp_socket();
  socket.async_wait(tcp::socket::wait_read, [connection = std::move(connection)](error_code ec) mutable {
    // Expired, shut down or drained: the connection closes here.
    if (ec) return;
    auto executor = connection->tcp_socket().get_executor();
    net::co_spawn(executor, serve_connection(std::move(connection), /*readable=*/true), log_exception);
  });
}

template <typename Socket>
void start_connection(Worker& worker, ConnectionPtr<Socket> connection) {
  net::co_spawn(worker.io(), serve_connection(std::move(connection), /*readable=*/false), log_exception);
}

}  // namespace

Worker::Worker(const Limits& limits, unsigned index, AccessLog* access_log, AccessLog* warnings)
    : limits_(limits),
      index_(index),
      access_log_(access_log),
      warnings_(warnings),
      line_(access_log ? std::make_unique<char[]>(kMaxAccessLine) : nullptr) {
  tick();
}

void Worker::warn(std::string_view line) noexcept {
  if (warnings_ != nullptr) {
    warnings_->append(index_, line);  // dropped, and counted, when stderr is not read
  } else {
    write_stderr(line);
  }
}

void Worker::log_access(const AccessRecord& record) noexcept {
  const std::size_t n = format_access_line(record, access_log_->format(), {line_.get(), kMaxAccessLine});
  access_log_->append(index_, {line_.get(), n});
}

void Worker::log_exchange(std::string_view peer, const Request* request, unsigned status, std::uint64_t body_bytes,
                          std::chrono::steady_clock::duration duration, AccessNote& note) {
  AccessRecord r;
  r.time = std::chrono::system_clock::now();
  r.peer = peer;
  if (request != nullptr) {
    r.method = request->method;
    r.target = request->target;
    r.version = request->version;
    for (const Field& f : request->fields) {  // one pass for the three
      if (r.origin.empty() && cors::ascii_iequals(f.name, "origin")) r.origin = f.value;
      if (r.referer.empty() && cors::ascii_iequals(f.name, "referer")) r.referer = f.value;
      if (r.user_agent.empty() && cors::ascii_iequals(f.name, "user-agent")) r.user_agent = f.value;
    }
  } else {
    note.clear();
  }
  r.status = status;
  r.body_bytes = body_bytes;
  r.duration = duration;
  r.note = &note;
  log_access(r);
}

// Handlers go before the io_context: what they own (upstream sockets) is
// bound to it.
Worker::~Worker() {
  listeners_.clear();
  handlers_.clear();
}

Handler& Worker::add_handler(const HandlerFactory& factory) {
  handlers_.push_back(factory(*this));
  return *handlers_.back();
}

void Worker::add_acceptor(tcp::acceptor acceptor, Handler& handler, ListenOptions options) {
  report_queued_bytes(acceptor.native_handle());  // for async_read_drained(); without it, reads as Asio's
  listeners_.push_back(std::make_unique<Listener>(Listener{std::move(acceptor), &handler, options}));
  if (running_) net::co_spawn(io_, accept_loop(*listeners_.back()), log_exception);
}

void Worker::run() {
  t_worker = this;
  struct Reset {
    ~Reset() { t_worker = nullptr; }
  } reset;
  running_ = true;
  for (auto& l : listeners_) net::co_spawn(io_, accept_loop(*l), log_exception);
  net::co_spawn(io_, tick_loop(), log_exception);
  io_.run();
}

net::awaitable<void> Worker::accept_loop(Listener& listener) {
  for (;;) {
    auto [ec, socket] = co_await listener.acceptor.async_accept(use_tuple);
    if (ec == net::error::operation_aborted) co_return;
    // A connection accepted as the drain began is served (its answer says
    // Connection: close), not dropped: closed unread, it would reset a
    // client whose request is on its way (seen in systemd restarts).
    const bool last = draining_ && !listener.options.open_while_draining;
    if (ec && last) co_return;
    if (ec) {
      // Out of descriptors or memory: back off instead of spinning.
      net::steady_timer pause(io_, kAcceptBackoff);
      co_await pause.async_wait(use_tuple);
      continue;
    }
    if (connection_count_ >= limits_.connections_per_thread) {
      refuse(socket);
      continue;  // the socket closes here
    }
    socket_states_.on_accept(connection_count_ + 1);
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (!listener.options.tls) {
      start_connection(*this,
                       std::make_unique<Connection<tcp::socket>>(std::move(socket), nullptr, *this, *listener.handler));
    } else if (tls_) {
      TlsSocket tls(std::move(socket), tls_->impl().listener_context().native_handle());
      start_connection(*this, std::make_unique<Connection<TlsSocket>>(std::move(tls), tls_, *this, *listener.handler));
    }
    if (last) co_return;
  }
}

// Over the connection limit: a short 503 instead of a silent reset, written
// without waiting (the kernel's send buffer takes it), and one log line a
// second at most, with the count since the last.
void Worker::refuse(tcp::socket& socket) noexcept {
  static constexpr std::string_view kBusy =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 1\r\n"
      "Connection: close\r\nContent-Length: 52\r\n\r\nservice unavailable: too many connections; try again\n";
  error_code ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(net::buffer(kBusy), ignored);
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  ++refused_;
  stats_.connections_refused.add();
  const auto now = std::chrono::steady_clock::now();
  if (now - last_refusal_log_ >= std::chrono::seconds(1)) {
    warn("corsd: warning: worker " + std::to_string(index_) + " refused " + std::to_string(refused_) +
         " connection(s) over --max-connections " + std::to_string(limits_.connections_per_thread) + " (503)\n");
    refused_ = 0;
    last_refusal_log_ = now;
  }
}

net::awaitable<void> Worker::tick_loop() {
  while (!(draining_ && connection_count_ == 0)) {
    ticker_.expires_after(kTickPeriod);
    co_await ticker_.async_wait(use_tuple);
    tick();
  }
  close_listeners(/*all=*/true);  // those open while draining too: nothing is left to drain
}

void Worker::tick() {
  // After a crowd of connections went idle or away, the buffers the pool
  // did not keep go back to the system, not only to the heap: RSS falls
  // back (a trim walks the heap: once a tick at most, off the request path).
  // So, too, after many connections closed (their frames went to the heap).
  peak_connections_ = std::max(peak_connections_, connection_count_);
  if (buffers_.take_freed() >= kTrimAfterFreeing || peak_connections_ - connection_count_ >= kTrimAfterClosing) {
    ::malloc_trim(0);
    peak_connections_ = connection_count_;
  }
  const std::time_t second = std::time(nullptr);
  if (second != date_second_) {
    date_second_ = second;
    format_http_date(second, date_);
  }
  const auto now = std::chrono::steady_clock::now();
  const bool forcing = draining_ && now >= force_close_at_;
  for (Watched* w = watched_; w != nullptr;) {
    Watched* next = w->next;
    if (forcing || now >= w->deadline() || (draining_ && w->idle())) {
      w->expire();
    } else {
      w->shed(now);
    }
    w = next;
  }
}

void Worker::begin_shutdown() {
  if (draining_) return;
  draining_ = true;
  force_close_at_ = std::chrono::steady_clock::now() + limits_.shutdown_grace;
  close_listeners(/*all=*/false);
  for (Watched* w = watched_; w != nullptr; w = w->next) {
    w->on_drain();
    if (w->idle()) w->expire();
  }
  ticker_.cancel();  // re-check at once whether anything is left
}

void Worker::close_listeners(bool all) noexcept {
  for (auto& l : listeners_) {
    error_code ignored;
    if (all || !l->options.open_while_draining) l->acceptor.close(ignored);
  }
}

void Worker::watch(Watched& w) noexcept {
  w.prev = nullptr;
  w.next = watched_;
  if (watched_) watched_->prev = &w;
  watched_ = &w;
}

void Worker::unwatch(Watched& w) noexcept {
  if (w.prev) w.prev->next = w.next;
  if (w.next) w.next->prev = w.prev;
  if (watched_ == &w) watched_ = w.next;
  w.prev = w.next = nullptr;
}

void Worker::attach(Watched& c) noexcept {
  watch(c);
  ++connection_count_;
  stats_.connections_accepted.add();
  stats_.connections_open.add(1);
}

void Worker::detach(Watched& c) noexcept {
  unwatch(c);
  --connection_count_;
  stats_.connections_open.add(-1);
}

}  // namespace corsd::http
