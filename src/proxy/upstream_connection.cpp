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

std::unique_ptr<UpstreamConnection> UpstreamPool::take(const std::string& authority,
                                                       std::chrono::milliseconds idle_timeout) {
  const auto it = idle_.find(authority);
  if (it == idle_.end()) return nullptr;
  auto& connections = it->second;
  const auto oldest_kept = http::Watched::clock::now() - idle_timeout;
  while (!connections.empty() && connections.front()->idle_since < oldest_kept) connections.pop_front();
  if (connections.empty()) return nullptr;
  auto c = std::move(connections.back());
  connections.pop_back();
  return c;
}

void UpstreamPool::give_back(const std::string& authority, std::unique_ptr<UpstreamConnection> c, std::size_t limit) {
  auto& connections = idle_[authority];
  if (connections.size() >= limit) return;
  c->reused = true;
  c->idle_since = http::Watched::clock::now();
  c->disarm();
  connections.push_back(std::move(c));
}

}  // namespace corsd::proxy
