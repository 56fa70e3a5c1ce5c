#include "upstream_connection.hpp"

#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>

namespace corsd::proxy {

UpstreamConnection::UpstreamConnection(http::WorkerContext& worker, std::unique_ptr<char[]> buffer)
    : socket(worker.io()),
      reactor(boost::asio::use_service<http::Reactor>(worker.io())),
      in(kBufferSize, std::move(buffer)),
      worker_(worker) {
  worker_.watch(*this);
}

UpstreamConnection::~UpstreamConnection() { worker_.unwatch(*this); }

void UpstreamConnection::expire() noexcept {
  boost::system::error_code ignored;
  socket.cancel(ignored);
}

UpstreamPool::UpstreamPool(http::WorkerContext& worker) : worker_(worker) { worker_.watch(*this); }

UpstreamPool::~UpstreamPool() { worker_.unwatch(*this); }

std::unique_ptr<UpstreamConnection> UpstreamPool::take(const std::string& key, UpstreamStats& stats) {
  const auto it = idle_.find(key);
  if (it == idle_.end()) return nullptr;
  auto& connections = it->second.connections;
  const auto now = clock::now();
  while (!connections.empty() && connections.front()->idle_until <= now) connections.pop_front();
  while (!connections.empty()) {
    auto c = std::move(connections.back());
    connections.pop_back();
    // Closed by the upstream, or sent what nobody asked for. A connection
    // pooled a moment ago is taken unchecked (see kCheckedAfter).
    if (now - c->pooled_at >= kCheckedAfter && !quiet(*c)) continue;
    c->in.give_storage(buffer());
    count_idle(stats, connections.size());
    return c;
  }
  count_idle(stats, 0);
  return nullptr;
}

// Whether nothing has arrived on idle `c`: no EOF, no stray bytes (a late
// body of a HEAD answer, an unsolicited 408) that the next exchange would
// take for its own answer. One non-blocking peek: cheaper than keeping an
// async_wait on each idle connection, which costs an epoll_ctl to re-arm.
bool UpstreamPool::quiet(UpstreamConnection& c) noexcept {
  char byte;
  const ssize_t n = ::recv(c.socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

std::unique_ptr<UpstreamConnection> UpstreamPool::make() {
  return std::make_unique<UpstreamConnection>(worker_, buffer());
}

std::unique_ptr<char[]> UpstreamPool::buffer() {
  if (spare_buffers_.empty()) return std::make_unique_for_overwrite<char[]>(UpstreamConnection::kBufferSize);
  auto b = std::move(spare_buffers_.back());
  spare_buffers_.pop_back();
  return b;
}

void UpstreamPool::keep_buffer(UpstreamConnection& c) noexcept {
  auto b = c.in.take_storage();
  if (b && spare_buffers_.size() < kMaxSpareBuffers) spare_buffers_.push_back(std::move(b));
}

void UpstreamPool::discard(std::unique_ptr<UpstreamConnection> c) noexcept {
  if (c) keep_buffer(*c);
}

void UpstreamPool::give_back(const std::string& key, UpstreamStats& stats, std::unique_ptr<UpstreamConnection> c,
                             std::size_t limit, std::chrono::milliseconds idle_timeout) {
  Idle& idle = idle_[key];
  idle.stats = &stats;
  auto& connections = idle.connections;
  keep_buffer(*c);  // checked empty: the answer ended where the data did
  if (connections.size() >= limit) return;
  c->reused = true;
  c->pooled_at = clock::now();
  c->idle_until = c->pooled_at + idle_timeout;
  c->disarm();
  next_sweep_ = std::min(next_sweep_, c->idle_until);
  connections.push_back(std::move(c));
  count_idle(stats, connections.size());
}

void UpstreamPool::expire() noexcept {
  const auto now = clock::now();
  next_sweep_ = clock::time_point::max();
  // Closed after the worker's deadline pass, not during it: a connection
  // leaves the watch list as it is destroyed.
  std::vector<std::unique_ptr<UpstreamConnection>> expired;
  for (auto& [key, idle] : idle_) {
    auto& connections = idle.connections;
    for (auto& c : connections) {
      if (c->idle_until <= now || worker_.draining()) expired.push_back(std::move(c));
    }
    std::erase(connections, nullptr);
    count_idle(*idle.stats, connections.size());
    for (const auto& c : connections) next_sweep_ = std::min(next_sweep_, c->idle_until);
  }
  if (!expired.empty()) boost::asio::post(worker_.io(), [expired = std::move(expired)] {});
}

}  // namespace corsd::proxy
