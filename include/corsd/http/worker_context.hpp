#pragma once
// File: corsd/http/worker_context.hpp
//
// What a handler may use of the worker thread it runs on: its index, its
// event loop, and its deadline watch, which checks every registered socket
// a few times a second instead of arming a timer per read.

#include <chrono>
#include <string_view>

namespace boost::asio {
class io_context;
}

#include "corsd/http/stats.hpp"

namespace corsd::http {

// Something with a deadline on a worker: a client connection, an upstream
// connection. The worker calls expire() once the deadline has passed (or
// when a shutdown's grace runs out); expire() cancels the socket's I/O.
class Watched {
 public:
  using clock = std::chrono::steady_clock;

  virtual clock::time_point deadline() const noexcept = 0;
  virtual void expire() noexcept = 0;
  // Whether a shutdown may close it at once (nothing in flight).
  virtual bool idle() const noexcept { return false; }
  // Called on every tick: a chance to give back what waiting does not need
  // (a connection idle for a while returns its buffers to the pool).
  virtual void shed(clock::time_point /*now*/) noexcept {}
  // The server begins to shut down (an HTTP/2 connection says GOAWAY).
  virtual void on_drain() noexcept {}

  // The worker's intrusive list.
  Watched* prev = nullptr;
  Watched* next = nullptr;

 protected:
  ~Watched() = default;
};

class WorkerContext {
 public:
  virtual unsigned index() const noexcept = 0;
  virtual boost::asio::io_context& io() noexcept = 0;
  // The Date field value of this second.
  virtual std::string_view date() const noexcept = 0;
  // Whether the server is shutting down.
  virtual bool draining() const noexcept = 0;
  // The worker's HTTP counters (only this worker writes them).
  virtual WorkerStats& stats() noexcept = 0;

  // watch(), unwatch()
  //
  // Registers `w` with the worker's deadline checks until unwatch(). On the
  // worker's thread only.
  virtual void watch(Watched& w) noexcept = 0;
  virtual void unwatch(Watched& w) noexcept = 0;

 protected:
  ~WorkerContext() = default;
};

}  // namespace corsd::http
