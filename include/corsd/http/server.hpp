#pragma once
// File: corsd/http/server.hpp
//
// The HTTP/1.1 server: one io_context per thread, each with its own
// listening sockets (SO_REUSEPORT when there are several threads, kept to
// corsd's own sockets: src/http/port_guard.hpp), so nothing is shared
// between threads on the request path. Keep-alive, pipelining
// (answered in order, one write per batch), the limits of Limits, graceful
// shutdown on SIGINT/SIGTERM, and SIGHUP and SIGUSR1 handed to the
// application.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "corsd/http/handler.hpp"
#include "corsd/http/limits.hpp"
#include "corsd/http/stats.hpp"

namespace corsd::http {

class AccessLog;
class TlsCredentials;

struct ServerOptions {
  Limits limits;
  unsigned threads = 1;
  // Where each worker's request lines go, if anywhere; it must have a ring
  // per thread and outlive the server.
  AccessLog* access_log = nullptr;
  // Where workers' warnings go (connections refused over the limit, an
  // exception that ended a connection): a ring per thread on standard
  // error, so that a stderr nobody reads drops lines instead of stalling a
  // worker. nullptr: written to standard error directly.
  AccessLog* warnings = nullptr;
};

struct ListenOptions {
  // Keeps accepting while requests drain (the admin endpoints: /readyz says
  // 503 to the load balancer meanwhile); closed once nothing else is left.
  bool open_while_draining = false;
  // Speaks HTTPS with the certificates of use_tls().
  bool tls = false;
};

// The addresses one listen() call bound, and the URL to reach them.
struct Listening {
  std::string error;  // empty on success
  std::vector<std::string> addresses;
  std::uint16_t port = 0;
  std::string url;  // "http://localhost:8080", "https://localhost:8443"
  // What the server could not check or guard, although it listens (see
  // the port guard); for the operator's log.
  std::vector<std::string> warnings;

  bool ok() const noexcept { return error.empty(); }
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // listen()
  //
  // Binds every address `host` resolves to ("localhost" gives 127.0.0.1 and
  // ::1) on `port` (0 picks a free one, the same for all addresses) and
  // serves them with one handler per worker, made by `factory`.
  Listening listen(std::string_view host, std::uint16_t port, const HandlerFactory& factory,
                   ListenOptions options = {});

  // adopt()
  //
  // Serves a socket that listens already (one systemd passed, socket
  // activation), with one handler per worker; every worker accepts from it.
  // The server owns `fd` from then on.
  Listening adopt(int fd, const HandlerFactory& factory, ListenOptions options = {});

  // use_tls()
  //
  // The certificates every TLS listener presents from now on: call it
  // before listening with ListenOptions::tls, and again (from any thread)
  // to give new handshakes new certificates; connections already open keep
  // theirs.
  void use_tls(std::shared_ptr<const TlsCredentials> credentials);

  // on_each_worker()
  //
  // Runs `task` on every worker's own thread, with its context: how a new
  // route snapshot reaches each worker's handlers. Safe from any thread.
  void on_each_worker(std::function<void(WorkerContext&)> task);

  // on_reload()
  //
  // Calls `reload` on the server's control thread (never a worker's) for
  // each SIGHUP; without it, SIGHUP is logged and ignored. Set before run().
  void on_reload(std::function<void()> reload);

  // on_reopen()
  //
  // Calls `reopen` on the control thread for each SIGUSR1 (logrotate's
  // signal to reopen log files). Set before run().
  void on_reopen(std::function<void()> reopen);

  // on_shutdown()
  //
  // Calls `begin` as the graceful shutdown begins, on the thread that
  // starts it (SIGINT/SIGTERM: the control thread). Set before run().
  void on_shutdown(std::function<void()> begin);

  // worker_stats()
  //
  // Each worker's HTTP counters, for a scrape from any thread.
  std::vector<const WorkerStats*> worker_stats() const;

  // run()
  //
  // Serves until SIGINT, SIGTERM or stop(), then stops accepting, lets
  // requests in flight finish within Limits::shutdown_grace and returns.
  void run();

  // stop()
  //
  // Starts the graceful shutdown from any thread.
  void stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace corsd::http
