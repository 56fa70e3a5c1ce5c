#pragma once
// File: corsd/proxy/proxy.hpp
//
// The reverse proxy, one per worker thread: forwards a streamed exchange to
// an upstream over a pooled keep-alive connection and streams the answer
// back, both ways through bounded buffers. Every answer the client gets,
// the upstream's or corsd's own 502/504, carries the route's CORS decision:
// a 401 without CORS headers would show up in the browser as a CORS error
// and hide the real one.

#include <array>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "corsd/cors/decision.hpp"
#include "corsd/http/exchange.hpp"
#include "corsd/http/stats.hpp"
#include "corsd/http/worker_context.hpp"
#include "corsd/proxy/upstream.hpp"

namespace corsd::proxy {

// Why corsd answered for the upstream (502, 504, 501).
enum class FailureKind : std::uint8_t {
  refused,           // connection refused
  unreachable,       // any other connect failure
  connect_timeout,   // 504
  response_timeout,  // 504
  malformed,         // an answer corsd cannot pass on
  closed,            // closed before answering or before taking the request
  upgrade,           // a protocol upgrade was asked for: 501
  tls,               // the TLS handshake with an https:// upstream failed (its certificate, say)
};
inline constexpr std::size_t kFailureKinds = 8;

// failure_name()
//
// The stable snake_case name of `e` ("connect_timeout"), for /metrics.
std::string_view failure_name(FailureKind e) noexcept;

// One worker's counters for one upstream (by authority, "127.0.0.1:5000").
struct UpstreamStats {
  http::Counter requests;  // exchanges forwarded or answered for it
  std::array<http::Counter, kFailureKinds> errors;
  http::Gauge idle_connections;  // in this worker's pool
};
using UpstreamStatsTable = http::StatsTable<UpstreamStats>;

// endpoints_of()
//
// The addresses `upstream` resolved to at start, with its port: what a
// connection to it tries, in order.
std::vector<boost::asio::ip::tcp::endpoint> endpoints_of(const Upstream& upstream);

class Proxy {
 public:
  explicit Proxy(http::WorkerContext& worker);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // forward()
  //
  // Serves `exchange` from `upstream`. Failures are answered (502 refused,
  // malformed or closed; 504 timed out) with `cors` applied; an upstream
  // that breaks off mid-body closes the client connection. `upstream`,
  // `settings` and `cors` must outlive the call.
  boost::asio::awaitable<void> forward(http::Exchange& exchange, const Upstream& upstream,
                                       const ProxySettings& settings, const cors::Decision& cors);

  // This worker's counters by upstream, for a scrape from any thread.
  const UpstreamStatsTable& stats() const noexcept;

 private:
  class Pools;
  http::WorkerContext& worker_;
  std::unique_ptr<Pools> pools_;
};

}  // namespace corsd::proxy
