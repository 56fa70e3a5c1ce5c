#include "worker.hpp"

#include <iostream>

#include "connection.hpp"

namespace corsd::http {
namespace {

constexpr std::chrono::milliseconds kTickPeriod{200};
// After accept fails for lack of descriptors, wait before trying again
// rather than spinning.
constexpr std::chrono::milliseconds kAcceptBackoff{100};

void log_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    std::cerr << "corsd: connection ended by an exception: " << x.what() << '\n';
  }
}

net::awaitable<void> serve(tcp::socket socket, Worker& worker, Handler& handler) {
  Connection connection(std::move(socket), worker, handler);
  co_await connection.run();
}

}  // namespace

Worker::Worker(const Limits& limits) : limits_(limits) { tick(); }

void Worker::add_acceptor(tcp::acceptor acceptor, Handler& handler) {
  listeners_.push_back(std::make_unique<Listener>(Listener{std::move(acceptor), &handler}));
}

void Worker::run() {
  for (auto& l : listeners_) net::co_spawn(io_, accept_loop(*l), log_exception);
  net::co_spawn(io_, tick_loop(), log_exception);
  io_.run();
}

net::awaitable<void> Worker::accept_loop(Listener& listener) {
  for (;;) {
    auto [ec, socket] = co_await listener.acceptor.async_accept(use_tuple);
    if (draining_ || ec == net::error::operation_aborted) co_return;
    if (ec) {
      // Out of descriptors or memory: back off instead of spinning.
      net::steady_timer pause(io_, kAcceptBackoff);
      co_await pause.async_wait(use_tuple);
      continue;
    }
    if (connection_count_ >= limits_.connections_per_thread) continue;  // the socket closes here
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    net::co_spawn(io_, serve(std::move(socket), *this, *listener.handler), log_exception);
  }
}

net::awaitable<void> Worker::tick_loop() {
  while (!(draining_ && connection_count_ == 0)) {
    ticker_.expires_after(kTickPeriod);
    co_await ticker_.async_wait(use_tuple);
    tick();
  }
}

void Worker::tick() {
  const std::time_t second = std::time(nullptr);
  if (second != date_second_) {
    date_second_ = second;
    format_http_date(second, date_);
  }
  const auto now = std::chrono::steady_clock::now();
  const bool forcing = draining_ && now >= force_close_at_;
  for (Connection* c = connections_; c != nullptr; c = c->next) {
    if (forcing || now >= c->deadline() || (draining_ && c->idle())) c->expire();
  }
}

void Worker::begin_shutdown() {
  if (draining_) return;
  draining_ = true;
  force_close_at_ = std::chrono::steady_clock::now() + limits_.shutdown_grace;
  for (auto& l : listeners_) {
    error_code ignored;
    l->acceptor.close(ignored);
  }
  for (Connection* c = connections_; c != nullptr; c = c->next) {
    if (c->idle()) c->expire();
  }
  ticker_.cancel();  // re-check at once whether anything is left
}

void Worker::attach(Connection& c) noexcept {
  c.prev = nullptr;
  c.next = connections_;
  if (connections_) connections_->prev = &c;
  connections_ = &c;
  ++connection_count_;
}

void Worker::detach(Connection& c) noexcept {
  if (c.prev) c.prev->next = c.next;
  if (c.next) c.next->prev = c.prev;
  if (connections_ == &c) connections_ = c.next;
  --connection_count_;
}

}  // namespace corsd::http
