#pragma once
// One client connection: reads, parses every complete request it has,
// answers them in order into one output buffer, writes that buffer once,
// reads again. Deadlines are checked by the worker's ticker, not by a timer
// per read.

#include <chrono>
#include <optional>
#include <string>

#include "corsd/http/handler.hpp"
#include "input_buffer.hpp"
#include "net.hpp"
#include "request_parser.hpp"

namespace corsd::http {

class Worker;

class Connection {
 public:
  using clock = std::chrono::steady_clock;

  Connection(tcp::socket socket, Worker& worker, Handler& handler);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  net::awaitable<void> run();

  // Aborts the connection's I/O; run() then returns.
  void expire() noexcept;
  // Whether the connection waits for a next request with nothing buffered.
  bool idle() const noexcept { return idle_; }
  clock::time_point deadline() const noexcept { return deadline_; }

  // The worker's list of its connections.
  Connection* prev = nullptr;
  Connection* next = nullptr;

 private:
  enum class Step { need_more, flush, close };

  Step serve_buffered();
  bool answer();
  void answer_error(unsigned status, std::string_view message);
  void arm_read_deadline();
  net::awaitable<bool> flush();
  net::awaitable<void> linger();

  tcp::socket socket_;
  Worker& worker_;
  Handler& handler_;
  InputBuffer in_;
  std::string out_;
  RequestStorage storage_;
  std::optional<RequestParser> parser_;
  clock::time_point deadline_;
  clock::time_point header_deadline_;
  bool header_deadline_armed_ = false;
  bool continue_sent_ = false;
  bool idle_ = true;
  std::size_t served_ = 0;
};

}  // namespace corsd::http
