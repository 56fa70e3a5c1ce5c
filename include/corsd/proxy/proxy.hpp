#pragma once
// File: corsd/proxy/proxy.hpp
//
// The reverse proxy, one per worker thread: forwards a streamed exchange to
// an upstream over a pooled keep-alive connection and streams the answer
// back, both ways through bounded buffers. Every answer the client gets,
// the upstream's or corsd's own 502/504, carries the route's CORS decision:
// a 401 without CORS headers would show up in the browser as a CORS error
// and hide the real one.

#include <boost/asio/awaitable.hpp>
#include <memory>

#include "corsd/cors/decision.hpp"
#include "corsd/http/exchange.hpp"
#include "corsd/http/worker_context.hpp"
#include "corsd/proxy/upstream.hpp"

namespace corsd::proxy {

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

 private:
  class Pools;
  http::WorkerContext& worker_;
  std::unique_ptr<Pools> pools_;
};

}  // namespace corsd::proxy
