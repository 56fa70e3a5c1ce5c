#include "corsd/http/server.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "port_guard.hpp"
#include "worker.hpp"

namespace corsd::http {
namespace {

// Room for a burst of connections arriving at once; the kernel caps it at
// net.core.somaxconn.
constexpr int kListenBacklog = 16384;

std::string url_for(std::string_view host, std::uint16_t port, bool tls) {
  const bool ipv6_literal = host.find(':') != std::string_view::npos;
  std::string url = tls ? "https://" : "http://";
  url += ipv6_literal ? "[" + std::string(host) + "]" : std::string(host);
  url += ':';
  url += std::to_string(port);
  return url;
}

// Opens, configures, binds and listens, reporting the first failure.
error_code open_acceptor(tcp::acceptor& a, const tcp::endpoint& endpoint, bool reuse_port) {
  error_code ec;
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec && endpoint.address().is_v6()) a.set_option(net::ip::v6_only(true), ec);
  if (!ec && reuse_port) {
    const int one = 1;
    if (::setsockopt(a.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      ec = error_code(errno, boost::system::system_category());
    }
  }
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(kListenBacklog, ec);
  return ec;
}

// The address `fd` listens on, if it is a listening TCP socket.
std::optional<tcp::endpoint> listening_endpoint(int fd) {
  int listening = 0;
  socklen_t flag_length = sizeof listening;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &flag_length) != 0 || listening == 0) return {};
  tcp::endpoint endpoint;
  socklen_t length = static_cast<socklen_t>(endpoint.capacity());
  if (::getsockname(fd, endpoint.data(), &length) != 0) return {};
  const int family = endpoint.data()->sa_family;
  if (family != AF_INET && family != AF_INET6) return {};
  endpoint.resize(length);
  return endpoint;
}

}  // namespace

class Server::Impl {
 public:
  explicit Impl(ServerOptions options) : options_(std::move(options)) {
    const unsigned n = options_.threads == 0 ? 1 : options_.threads;
    for (unsigned i = 0; i < n; ++i) {
      workers_.push_back(std::make_unique<Worker>(options_.limits, i, options_.access_log, options_.warnings));
    }
  }

  Listening listen(std::string_view host, std::uint16_t port, const HandlerFactory& factory, ListenOptions options);
  Listening adopt(int fd, const HandlerFactory& factory, ListenOptions options);
  // Opens one acceptor per worker on `endpoint` (its port 0 becomes the one
  // the first got) and runs the port guard's checks on them.
  error_code open_group(tcp::endpoint& endpoint, std::vector<tcp::acceptor>& group, std::vector<std::string>& warnings);
  void on_each_worker(const std::function<void(WorkerContext&)>& task) {
    for (auto& worker : workers_) net::post(worker->io(), [task, w = worker.get()] { task(*w); });
  }
  void use_tls(std::shared_ptr<const TlsCredentials> credentials) {
    tls_ = credentials != nullptr;
    for (auto& worker : workers_) {
      if (!running_) {
        worker->use_tls(credentials);
      } else {
        net::post(worker->io(), [credentials, w = worker.get()] { w->use_tls(credentials); });
      }
    }
  }
  void on_reload(std::function<void()> reload) { reload_ = std::move(reload); }
  void on_reopen(std::function<void()> reopen) { reopen_ = std::move(reopen); }
  void on_shutdown(std::function<void()> begin) { on_shutdown_ = std::move(begin); }
  std::vector<const WorkerStats*> worker_stats() const {
    std::vector<const WorkerStats*> all;
    for (const auto& worker : workers_) all.push_back(&worker->stats());
    return all;
  }
  void run();
  void stop();

 private:
  // SIGHUP and SIGUSR1, one at a time on the control thread.
  void await_control_signal();

  ServerOptions options_;
  std::vector<std::unique_ptr<Worker>> workers_;
  net::io_context control_{1};
  // Both sets exist from construction: a signal that arrives while the
  // server starts waits for run() instead of killing the process.
  net::signal_set signals_{control_, SIGINT, SIGTERM};
  net::signal_set control_signals_{control_, SIGHUP, SIGUSR1};
  std::function<void()> reload_;
  std::function<void()> reopen_;
  std::function<void()> on_shutdown_;
  std::once_flag shutdown_begun_;
  bool tls_ = false;
  bool running_ = false;
};

Listening Server::Impl::listen(std::string_view host, std::uint16_t port, const HandlerFactory& factory,
                               ListenOptions options) {
  Listening result;
  if (options.tls && !tls_) {
    result.error = "a TLS listener needs certificates first (Server::use_tls)";
    return result;
  }
  error_code ec;
  tcp::resolver resolver(control_);
  const auto endpoints = resolver.resolve(std::string(host), std::to_string(port),
                                          tcp::resolver::numeric_service | tcp::resolver::passive, ec);
  if (ec || endpoints.empty()) {
    result.error = "cannot resolve \"" + std::string(host) + "\": " + ec.message();
    return result;
  }
  // Every worker's acceptor for every address, handed over only once all of
  // them passed the checks: a refused listen leaves nothing listening.
  std::vector<tcp::acceptor> ready;
  for (const auto& entry : endpoints) {
    tcp::endpoint endpoint = entry.endpoint();
    if (result.port != 0) endpoint.port(result.port);  // every address on the first one's port
    std::vector<tcp::acceptor> group;
    ec = open_group(endpoint, group, result.warnings);
    // A resolved address the machine lacks (no IPv6 loopback) is skipped;
    // any other failure is the user's to fix.
    if (ec == boost::system::errc::address_not_available && !result.addresses.empty()) continue;
    if (ec) {
      result.error = "cannot listen on " + endpoint.address().to_string() + ":" + std::to_string(endpoint.port()) +
                     ": " + ec.message();
      return result;
    }
    result.port = endpoint.port();
    result.addresses.push_back(endpoint.address().to_string());
    for (tcp::acceptor& acceptor : group) ready.push_back(std::move(acceptor));
  }
  std::vector<Handler*> handlers;
  for (auto& worker : workers_) handlers.push_back(&worker->add_handler(factory));
  for (std::size_t i = 0; i < ready.size(); ++i) {
    const std::size_t worker = i % workers_.size();
    workers_[worker]->add_acceptor(std::move(ready[i]), *handlers[worker], options);
  }
  result.url = url_for(host, result.port, options.tls);
  return result;
}

Listening Server::Impl::adopt(int fd, const HandlerFactory& factory, ListenOptions options) {
  Listening result;
  if (options.tls && !tls_) {
    ::close(fd);
    result.error = "a TLS listener needs certificates first (Server::use_tls)";
    return result;
  }
  const std::optional<tcp::endpoint> endpoint = listening_endpoint(fd);
  if (!endpoint) {
    ::close(fd);
    result.error = "inherited socket " + std::to_string(fd) + " is not a listening TCP socket";
    return result;
  }
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    // Each worker's acceptor owns a descriptor of its own for the one socket.
    const int own = i + 1 == workers_.size() ? fd : ::dup(fd);
    error_code ec;
    tcp::acceptor acceptor(workers_[i]->io());
    if (own >= 0) acceptor.assign(endpoint->protocol(), own, ec);
    if (own < 0 || ec) {
      result.error = "cannot serve inherited socket " + std::to_string(fd) + ": " +
                     (own < 0 ? std::string(std::strerror(errno)) : ec.message());
      return result;
    }
    workers_[i]->add_acceptor(std::move(acceptor), workers_[i]->add_handler(factory), options);
  }
  result.addresses.push_back(endpoint->address().to_string());
  result.port = endpoint->port();
  result.url = url_for(endpoint->address().to_string(), endpoint->port(), options.tls);
  return result;
}

error_code Server::Impl::open_group(tcp::endpoint& endpoint, std::vector<tcp::acceptor>& group,
                                    std::vector<std::string>& warnings) {
  const bool reuse_port = workers_.size() > 1;
  error_code ec;
  if (reuse_port && endpoint.port() != 0) ec = port_taken(endpoint);
  std::vector<int> descriptors;
  for (std::size_t i = 0; i < workers_.size() && !ec; ++i) {
    tcp::acceptor& acceptor = group.emplace_back(workers_[i]->io());
    ec = open_acceptor(acceptor, endpoint, reuse_port);
    if (!ec && endpoint.port() == 0) endpoint.port(acceptor.local_endpoint().port());
    descriptors.push_back(acceptor.native_handle());
  }
  if (ec || !reuse_port) return ec;
  const std::string address = endpoint.address().to_string();
  const std::string where =
      (endpoint.address().is_v6() ? "[" + address + "]" : address) + ":" + std::to_string(endpoint.port());
  if (const error_code unchecked = foreign_listener(endpoint, descriptors)) {
    if (unchecked == boost::system::errc::address_in_use) return unchecked;
    // Refused sockets (a sandbox, a unit's RestrictAddressFamilies) are the operator's to allow.
    const bool refused = unchecked == boost::system::errc::address_family_not_supported ||
                         unchecked == boost::system::errc::permission_denied ||
                         unchecked == boost::system::errc::operation_not_permitted;
    warnings.push_back("cannot read the kernel's socket table (" + unchecked.message() + "): a server that binds " +
                       where + " at the same moment as corsd would not be found" +
                       (refused ? " (allow AF_NETLINK sockets)" : ""));
  }
  if (const error_code open = admit_only_first(descriptors.front(), static_cast<unsigned>(descriptors.size()))) {
    warnings.push_back("cannot filter " + where + "'s SO_REUSEPORT group (" + open.message() +
                       "): a socket of the same user that joins the port later would take a share of its connections");
  }
  return {};
}

void Server::Impl::run() {
  running_ = true;
  signals_.async_wait([this](const error_code& ec, int) {
    if (!ec) stop();
  });
  await_control_signal();
  std::vector<std::thread> threads;
  for (auto& worker : workers_) threads.emplace_back([w = worker.get()] { w->run(); });
  control_.run();
  for (auto& t : threads) t.join();
}

void Server::Impl::await_control_signal() {
  control_signals_.async_wait([this](const error_code& ec, int signal) {
    if (ec) return;  // cancelled: shutting down
    const std::function<void()>& action = signal == SIGHUP ? reload_ : reopen_;
    if (action) {
      action();
    } else {
      const std::string_view line = signal == SIGHUP ? "corsd: SIGHUP ignored: nothing to reload\n"
                                                     : "corsd: SIGUSR1 ignored: no log file to reopen\n";
      std::cerr.write(line.data(), static_cast<std::streamsize>(line.size()));
    }
    await_control_signal();
  });
}

void Server::Impl::stop() {
  std::call_once(shutdown_begun_, [this] {
    if (on_shutdown_) on_shutdown_();
  });
  for (auto& worker : workers_) net::post(worker->io(), [w = worker.get()] { w->begin_shutdown(); });
  net::post(control_, [this] {
    error_code ignored;
    signals_.cancel(ignored);
    control_signals_.cancel(ignored);
  });
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Server::~Server() = default;
Listening Server::listen(std::string_view host, std::uint16_t port, const HandlerFactory& factory,
                         ListenOptions options) {
  return impl_->listen(host, port, factory, options);
}
Listening Server::adopt(int fd, const HandlerFactory& factory, ListenOptions options) {
  return impl_->adopt(fd, factory, options);
}
void Server::use_tls(std::shared_ptr<const TlsCredentials> credentials) { impl_->use_tls(std::move(credentials)); }
void Server::on_each_worker(std::function<void(WorkerContext&)> task) { impl_->on_each_worker(task); }
void Server::on_reload(std::function<void()> reload) { impl_->on_reload(std::move(reload)); }
void Server::on_reopen(std::function<void()> reopen) { impl_->on_reopen(std::move(reopen)); }
void Server::on_shutdown(std::function<void()> begin) { impl_->on_shutdown(std::move(begin)); }
std::vector<const WorkerStats*> Server::worker_stats() const { return impl_->worker_stats(); }
void Server::run() { impl_->run(); }
void Server::stop() { impl_->stop(); }

}  // namespace corsd::http
