#include "upstream_connection.hpp"

#include <boost/asio/io_context.hpp>

namespace corsd::proxy {

UpstreamConnection::UpstreamConnection(http::WorkerContext& worker) : socket(worker.io()), worker_(worker) {
  worker_.watch(*this);
}

UpstreamConnection::~UpstreamConnection() { worker_.unwatch(*this); }

void UpstreamConnection::expire() noexcept {
  boost::system::error_code ignored;
  socket.cancel(ignored);
}

UpstreamPool::UpstreamPool(http::WorkerContext& worker) : worker_(worker) { worker_.watch(*this); }

UpstreamPool::~UpstreamPool() { worker_.unwatch(*this); }

std::unique_ptr<UpstreamConnection> UpstreamPool::take(const std::string& authority) {
  const auto it = idle_.find(authority);
  if (it == idle_.end()) return nullptr;
  auto& connections = it->second;
  const auto now = clock::now();
  while (!connections.empty() && connections.front()->idle_until <= now) connections.pop_front();
  if (connections.empty()) return nullptr;
  auto c = std::move(connections.back());
  connections.pop_back();
  return c;
}

void UpstreamPool::give_back(const std::string& authority, std::unique_ptr<UpstreamConnection> c, std::size_t limit,
                             std::chrono::milliseconds idle_timeout) {
  auto& connections = idle_[authority];
  if (connections.size() >= limit) return;
  c->reused = true;
  c->idle_until = clock::now() + idle_timeout;
  c->disarm();
  next_sweep_ = std::min(next_sweep_, c->idle_until);
  connections.push_back(std::move(c));
}

void UpstreamPool::expire() noexcept {
  const auto now = clock::now();
  next_sweep_ = clock::time_point::max();
  for (auto& [authority, connections] : idle_) {
    // Oldest first; a setting that shrank can leave a newer one expiring sooner.
    std::erase_if(connections, [now](const auto& c) { return c->idle_until <= now; });
    for (const auto& c : connections) next_sweep_ = std::min(next_sweep_, c->idle_until);
  }
}

}  // namespace corsd::proxy
