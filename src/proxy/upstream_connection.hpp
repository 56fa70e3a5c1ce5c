#pragma once
// One connection to an upstream and the per-worker pool that keeps idle
// ones for reuse. A connection is watched by its worker: its deadline (the
// connect or response timeout in force) is checked by the worker's ticker.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "corsd/http/detail/drained_read.hpp"
#include "corsd/http/input_buffer.hpp"
#include "corsd/http/response_head.hpp"
#include "corsd/http/worker_context.hpp"
#include "corsd/proxy/proxy.hpp"
#include "upstream_parser.hpp"

namespace corsd::proxy {

class UpstreamConnection final : public http::Watched {
 public:
  // Room for the longest answer head and big body reads.
  static constexpr std::size_t kBufferSize = 80 * 1024;

  // `buffer` holds kBufferSize bytes (see UpstreamPool::buffer()).
  UpstreamConnection(http::WorkerContext& worker, std::unique_ptr<char[]> buffer);
  ~UpstreamConnection();
  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;

  clock::time_point deadline() const noexcept override { return deadline_; }
  void expire() noexcept override;

  // Arms the deadline `timeout` from now; disarm() lifts it.
  void arm(std::chrono::milliseconds timeout) noexcept { deadline_ = clock::now() + timeout; }
  void disarm() noexcept { deadline_ = clock::time_point::max(); }
  bool timed_out() const noexcept { return clock::now() >= deadline_; }

  boost::asio::ip::tcp::socket socket;
  http::Reactor& reactor;  // `socket`'s, for async_read_drained()
  // To an https:// upstream: TLS over `socket`, from the handshake on.
  std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls;
  http::InputBuffer in;
  std::string out;                       // the request head on its way
  http::ResponseHead head;               // the answer head being parsed
  std::optional<UpstreamParser> parser;  // of the answer on its way (4 KiB: no place for it in a coroutine frame)
  bool reused = false;                   // it has served an exchange before
  clock::time_point pooled_at{};         // while pooled: since when
  clock::time_point idle_until{};        // while pooled: when it is closed rather than reused

 private:
  http::WorkerContext& worker_;
  clock::time_point deadline_ = clock::time_point::max();
};

// Idle connections per upstream, newest last, and the buffers
// they lent back: an idle connection holds a socket, not 80 KiB. The
// worker's ticker closes those idle past their timeout (the pool is itself
// watched: its deadline is the oldest connection's expiry).
class UpstreamPool final : public http::Watched {
 public:
  // Keeps each authority's idle_connections gauge in `stats` current (the
  // sweep looks them up; take() and give_back() are handed them).
  explicit UpstreamPool(http::WorkerContext& worker);
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  clock::time_point deadline() const noexcept override { return next_sweep_; }
  // Closes the connections idle past their timeout, and all of them once
  // the worker drains (the upstream gets its sockets back at once).
  void expire() noexcept override;
  bool idle() const noexcept override { return true; }

  // take()
  //
  // The newest idle connection to the upstream `key` (its URL) still
  // within its idle timeout (with a buffer again), or nullptr. `stats` are
  // the upstream's, whose idle gauge it keeps current.
  std::unique_ptr<UpstreamConnection> take(const std::string& key, UpstreamStats& stats);

  // A new, unconnected connection with a buffer from the pool.
  std::unique_ptr<UpstreamConnection> make();

  // give_back()
  //
  // Keeps `c` for reuse for `idle_timeout`, unless `limit` connections to
  // the upstream `key` (whose `stats` these are) are idle already.
  void give_back(const std::string& key, UpstreamStats& stats, std::unique_ptr<UpstreamConnection> c, std::size_t limit,
                 std::chrono::milliseconds idle_timeout);

  // Closes `c`, keeping its buffer for the next connection.
  void discard(std::unique_ptr<UpstreamConnection> c) noexcept;

 private:
  // How long a pooled connection must have been idle before take() asks
  // the kernel whether the upstream closed it (one recv() with MSG_PEEK:
  // about a fifth of the system calls of a proxied request under load,
  // where every connection comes back within microseconds). An upstream
  // closes an idle connection after seconds (nginx 75 s, Node.js 5 s),
  // and one that closes it sooner races the check anyway: a request that
  // finds it closed is retried when it may be, else answered 502.
  static constexpr std::chrono::milliseconds kCheckedAfter{50};

  // Buffers kept for reuse, at most: the busiest moment's connections.
  static constexpr std::size_t kMaxSpareBuffers = 64;

  std::unique_ptr<char[]> buffer();
  void keep_buffer(UpstreamConnection& c) noexcept;
  static void count_idle(UpstreamStats& stats, std::size_t idle) noexcept {
    stats.idle_connections.set(static_cast<std::int64_t>(idle));
  }
  static bool quiet(UpstreamConnection& c) noexcept;

  http::WorkerContext& worker_;
  struct Idle {
    UpstreamStats* stats = nullptr;  // the upstream's, whose idle gauge this keeps
    std::deque<std::unique_ptr<UpstreamConnection>> connections;
  };
  std::map<std::string, Idle, std::less<>> idle_;  // by upstream URL: http and https apart
  std::vector<std::unique_ptr<char[]>> spare_buffers_;
  clock::time_point next_sweep_ = clock::time_point::max();
};

}  // namespace corsd::proxy
