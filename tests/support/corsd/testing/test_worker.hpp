#pragma once
// Test support: a worker context for handlers run outside a server (the
// gateway on in-memory requests). Nothing it registers is ever expired.

#include <boost/asio/io_context.hpp>

#include "corsd/http/worker_context.hpp"
#include "corsd/testing/serve.hpp"

namespace corsd::testing {

class TestWorker final : public http::WorkerContext {
 public:
  unsigned index() const noexcept override { return 0; }
  boost::asio::io_context& io() noexcept override { return io_; }
  std::string_view date() const noexcept override { return kTestDate; }
  bool draining() const noexcept override { return false; }
  http::WorkerStats& stats() noexcept override { return stats_; }
  void watch(http::Watched&) noexcept override {}
  void unwatch(http::Watched&) noexcept override {}

 private:
  boost::asio::io_context io_;
  http::WorkerStats stats_;
};

}  // namespace corsd::testing
