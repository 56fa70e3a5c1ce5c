#include "connection.hpp"

#include <boost/asio/write.hpp>

#include "worker.hpp"

namespace corsd::http {
namespace {

namespace bhttp = boost::beast::http;

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// After an error answer, how much of the client's unread request is drained
// so that closing does not reset the connection before the answer is read.
constexpr std::size_t kLingerBytes = 1024 * 1024;
constexpr std::chrono::seconds kLingerTime{2};
constexpr std::size_t kKeptOutputCapacity = 256 * 1024;

struct ErrorAnswer {
  unsigned status;
  std::string_view message;
};

constexpr ErrorAnswer kFieldsTooLarge{
    431, "request header fields too large: the header block, a chunk extension or the trailers are over the "
         "server's limit\n"};

// Whether the request line in `head` ends in a well-formed "HTTP/d.d": Beast
// reports any version but 1.0 and 1.1 as malformed, and only a well-formed
// one deserves 505 rather than 400.
bool has_wellformed_version(std::string_view head) noexcept {
  const std::string_view line = head.substr(0, head.find("\r\n"));
  if (line.size() < 9 || line.size() == head.size()) return false;
  const std::string_view v = line.substr(line.size() - 9);
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  return v.substr(0, 6) == " HTTP/" && digit(v[6]) && v[7] == '.' && digit(v[8]);
}

ErrorAnswer error_answer(const error_code& ec, std::string_view unparsed) noexcept {
  if (ec == bhttp::error::header_limit) return kFieldsTooLarge;
  if (ec == bhttp::error::body_limit) return {413, "request body too large: it is over the server's limit\n"};
  if (ec == bhttp::error::bad_version && has_wellformed_version(unparsed)) {
    return {505, "HTTP version not supported: use HTTP/1.1 or HTTP/1.0\n"};
  }
  return {400, "bad request: the request is not valid HTTP/1.1\n"};
}

}  // namespace

Connection::Connection(tcp::socket socket, Worker& worker, Handler& handler)
    : socket_(std::move(socket)),
      worker_(worker),
      handler_(handler),
      in_(worker.limits().header_bytes + 4096),
      storage_(worker.limits()) {
  out_.reserve(4096);
  // A new connection must start its first request within the header timeout.
  deadline_ = clock::now() + worker.limits().header_timeout;
  worker_.attach(*this);
}

Connection::~Connection() { worker_.detach(*this); }

void Connection::expire() noexcept {
  error_code ec;
  socket_.cancel(ec);
}

net::awaitable<void> Connection::run() {
  for (;;) {
    const Step step = serve_buffered();
    if (!out_.empty() && !co_await flush()) co_return;
    if (step == Step::close) {
      // Whatever the client sent after the last answer must be read, not
      // left unread: closing then would reset the connection and destroy
      // answers still on their way (RFC 9112 §9.6).
      co_await linger();
      co_return;
    }
    if (step == Step::flush) continue;
    arm_read_deadline();
    if (idle_ && worker_.draining()) co_return;
    const auto space = in_.writable();
    if (space.empty()) {
      // Beast bounds the header block, not a chunk extension or the
      // trailers: one of those filled the buffer.
      answer_error(kFieldsTooLarge.status, kFieldsTooLarge.message);
      if (co_await flush()) co_await linger();
      co_return;
    }
    auto [ec, n] = co_await socket_.async_read_some(net::buffer(space.data(), space.size()), use_tuple);
    if (ec) co_return;
    in_.commit(n);
  }
}

Connection::Step Connection::serve_buffered() {
  std::size_t answered = 0;
  while (!in_.empty()) {
    if (!parser_) {
      storage_.clear();
      parser_.emplace(storage_, worker_.limits());
      continue_sent_ = false;
      header_deadline_armed_ = false;
    }
    error_code ec;
    const std::string_view data = in_.readable();
    const std::size_t used = parser_->put(net::const_buffer(data.data(), data.size()), ec);
    if (ec && ec != bhttp::error::need_more) {
      const ErrorAnswer e = error_answer(ec, data);
      answer_error(e.status, e.message);
      return Step::close;
    }
    in_.consume(used);
    if (ec == bhttp::error::need_more) break;
    if (!parser_->is_done()) {
      if (used == 0) break;
      continue;
    }
    const bool keep_alive = answer();
    ++served_;
    parser_.reset();
    if (!keep_alive) return Step::close;
    if (++answered >= worker_.limits().pipelined_requests) return Step::flush;
  }
  // A client that sent "Expect: 100-continue" waits for this before the body.
  if (parser_ && parser_->is_header_done() && !parser_->is_done() && storage_.expect_continue && !continue_sent_) {
    out_.append(kContinue);
    continue_sent_ = true;
  }
  return Step::need_more;
}

bool Connection::answer() {
  const Request request = storage_.view();
  ResponseContext context;
  context.date = worker_.date();
  context.head = request.method == "HEAD";
  context.keep_alive = parser_->keep_alive() && !worker_.draining();
  context.version = request.version;
  Response response(out_, context);
  try {
    handler_.handle(request, response);
  } catch (...) {
    response.close_connection();
  }
  if (!response.sent()) {
    response.set_status(500);
    response.close_connection();
    response.send("internal server error\n");
  }
  return response.keep_alive();
}

void Connection::answer_error(unsigned status, std::string_view message) {
  ResponseContext context;
  context.date = worker_.date();
  context.keep_alive = false;
  Response response(out_, context);
  response.set_status(status);
  response.add("Content-Type", "text/plain; charset=utf-8");
  response.send(message);
}

void Connection::arm_read_deadline() {
  const auto now = clock::now();
  const Limits& limits = worker_.limits();
  const bool started = parser_ && (!in_.empty() || parser_->got_some());
  idle_ = !started;
  if (idle_) {
    // Until its first request, a connection keeps the constructor's deadline.
    if (served_ > 0) deadline_ = now + limits.idle_timeout;
  } else if (!parser_->is_header_done()) {
    if (!header_deadline_armed_) {
      header_deadline_ = now + limits.header_timeout;
      header_deadline_armed_ = true;
    }
    deadline_ = header_deadline_;
  } else {
    deadline_ = now + limits.body_timeout;
  }
}

net::awaitable<bool> Connection::flush() {
  idle_ = false;
  deadline_ = clock::now() + worker_.limits().send_timeout;
  auto [ec, n] = co_await net::async_write(socket_, net::buffer(out_), use_tuple);
  out_.clear();
  if (out_.capacity() > kKeptOutputCapacity) std::string().swap(out_);
  co_return !ec;
}

net::awaitable<void> Connection::linger() {
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  idle_ = false;
  deadline_ = clock::now() + kLingerTime;
  std::size_t drained = 0;
  while (drained < kLingerBytes) {
    in_.consume(in_.readable().size());
    const auto space = in_.writable();
    auto [ec, n] = co_await socket_.async_read_some(net::buffer(space.data(), space.size()), use_tuple);
    if (ec) co_return;
    drained += n;
  }
}

}  // namespace corsd::http
