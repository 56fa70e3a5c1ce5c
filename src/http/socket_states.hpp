#pragma once
// Asio's epoll reactor gives every open socket a small state (168 bytes)
// that it takes from a free list, allocating a new one only when the list
// is empty, and never frees until the io_context goes. Allocated one by one
// as connections arrive, each lands between the frames of the connection
// it serves, and outlives them: after 10,000 connections closed, their
// freed frames stayed resident as 2.5 KiB holes between those states
// (7,976 holes, 20 MB, by malloc_info; RSS stayed 27 MiB above the start),
// which no trim can give back since no hole spans a whole page. So the worker reserves
// the states in blocks, ahead of need, side by side: the frames then free
// whole pages, and RSS falls back when the connections close.

#include <cstddef>

#include "net.hpp"

namespace corsd::http {

class SocketStates {
 public:
  explicit SocketStates(net::io_context& io) noexcept : io_(io) {}

  // As each connection is accepted, with the number now open: each time it
  // passes a new high by kStep, kBlock states go to the free list (what it
  // held, plus new ones side by side). A client connection takes one, a
  // proxied one two: the list never runs dry while the count climbs. Once
  // at its peak, nothing more: the list holds what closed connections left.
  void on_accept(std::size_t connections) noexcept {
    if (connections <= next_high_) return;
    reserve_block();
    next_high_ = connections + kStep;
  }

  static constexpr std::size_t kBlock = 1024;
  static constexpr std::size_t kStep = 256;

 private:
  // One failed epoll_ctl per state, on /dev/null, which epoll refuses:
  // about 0.3 ms a block.
  void reserve_block() noexcept;

  net::io_context& io_;
  std::size_t next_high_ = 0;
};

}  // namespace corsd::http
