#include "connection.hpp"

#include <sys/ioctl.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/deferred.hpp>
#include <boost/asio/write.hpp>
#include <charconv>

#include "corsd/cors/detail/token.hpp"
#include "corsd/http/chunked.hpp"
#include "corsd/http/detail/drained_read.hpp"
#include "error_answers.hpp"
#include "h2_session.hpp"
#include "worker.hpp"

namespace corsd::http {
namespace {

namespace bhttp = boost::beast::http;
using clock = Watched::clock;

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// How long a shutdown waits for the first request of a connection it had
// just accepted (a socket handed over by systemd on restart, say): its bytes
// may be microseconds away.
constexpr std::chrono::seconds kFirstRequestGrace{1};
// After an error answer, how much of the client's unread request is drained
// so that closing does not reset the connection before the answer is read.
constexpr std::size_t kLingerBytes = 1024 * 1024;
constexpr std::chrono::seconds kLingerTime{2};
constexpr std::size_t kKeptOutputCapacity = 256 * 1024;
// The most one send of a long answer offers the socket (Asio's default).
constexpr std::size_t kWriteSliceBytes = 64 * 1024;
// How long a keep-alive connection waits for its next request holding its
// buffers: past it, it gives them back (shed()).
constexpr std::chrono::seconds kShedAfter{1};
// A TLS connection starts with a handshake record (RFC 8446 §5.1).
constexpr char kTlsHandshakeRecord = 0x16;
constexpr std::string_view kPlainHttpBody = "bad request: this port speaks HTTPS; call it with https:// instead\n";
constexpr std::string_view kPlainHttpHead =
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n"
    "Content-Length: 67\r\n\r\n";
static_assert(kPlainHttpBody.size() == 67);

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

// `unparsed` is what the parser was given; `header_bytes` its header limit;
// `line_parsed`: the parser had taken the request line (so a limit hit
// since is the fields', whatever `unparsed` starts with).
ErrorAnswer error_answer(const error_code& ec, std::string_view unparsed, std::size_t header_bytes,
                         bool line_parsed) noexcept {
  const std::size_t line_end = unparsed.find("\r\n");
  // The request line with its CRLF is what must fit (RFC 9112 §3).
  const bool line_too_long = line_end == std::string_view::npos || line_end + 2 > header_bytes;
  if (ec == bhttp::error::header_limit && !line_parsed && !unparsed.empty() && line_too_long) {
    return {414, "URI too long: the request line is over the server's header limit\n"};
  }
  if (ec == bhttp::error::header_limit) return kFieldsTooLarge;
  if (ec == boost::system::errc::not_supported) {
    return {501, "not implemented: a transfer coding other than chunked (RFC 9112 §6.1); corsd decodes only chunked\n"};
  }
  if (ec == bhttp::error::body_limit) return kBodyTooLarge;
  if (ec == bhttp::error::bad_target) return kBadTarget;
  if (ec == bhttp::error::bad_version && has_wellformed_version(unparsed)) {
    return {505, "HTTP version not supported: use HTTP/1.1 or HTTP/1.0\n"};
  }
  return {400, "bad request: the request is not valid HTTP/1.1\n"};
}

}  // namespace

// The streamed exchange of the request whose head the connection has just
// parsed. Lives in Connection::serve_stream()'s frame.
template <typename Socket>
class Connection<Socket>::Stream final : public Exchange {
 public:
  explicit Stream(Connection& c) : c_(c), request_(c.b_->request.view()) {
    head_request_ = request_.method == "HEAD";
    keep_alive_ = c.b_->parser->keep_alive() && !c.worker_.draining();
  }

  const Request& request() const noexcept override { return request_; }
  std::string_view peer_address() override { return c_.peer_address(); }
  AccessNote& note() noexcept override { return c_.b_->note; }
  std::string_view date() const noexcept override { return c_.worker_.date(); }
  std::optional<std::uint64_t> body_length() const noexcept override {
    const auto n = c_.b_->parser->content_length();
    return n ? std::optional<std::uint64_t>(*n) : std::nullopt;
  }
  bool body_chunked() const noexcept override { return c_.b_->parser->chunked(); }
  bool body_done() const noexcept override { return c_.b_->parser->is_done(); }
  bool head_sent() const noexcept override { return head_sent_; }

  net::awaitable<BodySlice> read_body() override;
  net::awaitable<bool> send_interim(const ResponseHead& head) override;
  bool send_head(const ResponseHead& head, Framing framing) override;
  net::awaitable<bool> send_body(std::span<const std::string_view> slices) override;
  net::awaitable<bool> send_last(std::span<const std::string_view> slices) override;
  net::awaitable<bool> finish() override;
  void abort() noexcept override {
    aborted_ = true;
    c_.expire();
  }
  void stop_body() noexcept override {
    body_stopped_ = true;
    c_.expire();  // nothing but the body read is pending when the answer is complete
  }

  bool aborted() const noexcept { return aborted_; }
  bool finished() const noexcept { return finished_; }
  unsigned status() const noexcept { return status_; }
  std::uint64_t body_bytes() const noexcept { return sent_; }
  bool keep_alive() const noexcept { return keep_alive_ && finished_ && !aborted_ && body_done(); }
  const error_code& body_error() const noexcept { return body_error_; }
  // The client stopped sending (it went away or stalled past the body timeout).
  bool client_broke() const noexcept { return client_broke_; }

 private:
  net::awaitable<bool> send(std::span<const std::string_view> slices, bool last);

  Connection& c_;
  Request request_;
  Framing framing_;
  std::uint64_t sent_ = 0;  // body bytes
  std::uint64_t body_received_ = 0;
  // Since when the handler has not asked for the body (the head, or the
  // last slice given): time the client's min_body_rate window does not run.
  clock::time_point not_reading_since_ = clock::now();
  unsigned status_ = 0;
  error_code body_error_;
  bool head_request_ = false;
  bool keep_alive_ = true;
  bool head_sent_ = false;
  bool finished_ = false;
  bool aborted_ = false;
  bool body_stopped_ = false;
  bool body_started_ = false;
  bool client_broke_ = false;
  EagerWrites writes_;
};

template <typename Socket>
net::awaitable<BodySlice> Connection<Socket>::Stream::read_body() {
  RequestParser& parser = *c_.b_->parser;
  // Until now the handler held the body back (a slow upstream, a connect):
  // the client could not send meanwhile, so its rate window waits too.
  c_.rate_window_end_ += clock::now() - not_reading_since_;
  for (;;) {
    if (parser.is_done()) co_return BodySlice{};
    if (body_stopped_ || aborted_) co_return BodySlice{{}, false};
    if (!c_.in_.empty()) {
      c_.b_->request.slice.reset();
      error_code ec;
      const std::string_view data = c_.in_.readable();
      const std::size_t used = parser.put(net::const_buffer(data.data(), data.size()), ec);
      c_.in_.consume(used);
      if (ec && ec != bhttp::error::need_more) {
        body_error_ = ec;
        co_return BodySlice{{}, false};
      }
      // The slice points into the input buffer, which is not read into
      // again before the next call: that is the back-pressure.
      if (c_.b_->request.slice) {
        body_started_ = true;
        body_received_ += c_.b_->request.slice->size();
        c_.worker_.stats().request_body_bytes.add(c_.b_->request.slice->size());
        not_reading_since_ = clock::now();
        co_return BodySlice{*c_.b_->request.slice};
      }
      if (!ec && used > 0) continue;
    }
    // "100 Continue" only while the client waits for it: before any body
    // byte and before the answer (whose writes it must not race).
    if (c_.b_->request.expect_continue && !c_.continue_sent_ && !body_started_ && !head_sent_) {
      c_.continue_sent_ = true;
      const std::array buffers{net::const_buffer(kContinue.data(), kContinue.size())};
      if (!co_await c_.write(buffers)) co_return BodySlice{{}, false};
    }
    const auto space = c_.in_.writable();
    if (space.empty()) {
      // A chunk extension or trailer filled the buffer: Beast does not bound
      // them. A read of nothing would complete at once, forever.
      body_error_ = bhttp::error::header_limit;
      co_return BodySlice{{}, false};
    }
    c_.read_deadline_ =
        std::min(clock::now() + c_.worker_.limits().body_timeout, c_.body_rate_deadline(body_received_));
    auto [ec, n] = co_await c_.read_some(net::buffer(space.data(), space.size()), Read::rest_of_message);
    c_.read_deadline_ = clock::time_point::max();
    if (ec) {
      client_broke_ = !body_stopped_;
      co_return BodySlice{{}, false};
    }
    c_.in_.commit(n);
  }
}

template <typename Socket>
net::awaitable<bool> Connection<Socket>::Stream::send_interim(const ResponseHead& head) {
  if (aborted_ || head_sent_ || head.status < 100 || head.status >= 200 || head.status == 101) co_return false;
  if (request_.version == 10) co_return true;  // HTTP/1.0 has no interim answers
  ResponseContext context{c_.worker_.date(), false, true, 11};
  serialize_head(head, context, {Framing::Kind::none, 0}, c_.b_->out);
  const std::array buffers{net::const_buffer(c_.b_->out.data(), c_.b_->out.size())};
  const bool ok = co_await c_.write(buffers);
  c_.b_->out.clear();
  co_return ok;
}

template <typename Socket>
bool Connection<Socket>::Stream::send_head(const ResponseHead& head, Framing framing) {
  if (aborted_ || head_sent_) return false;
  if (framing.kind == Framing::Kind::chunked && request_.version == 10) framing.kind = Framing::Kind::close;
  if (framing.kind == Framing::Kind::close) keep_alive_ = false;
  // Answered before the whole body arrived: the rest is never parsed as a
  // next request, so the connection ends with this answer; say so.
  if (!body_done()) keep_alive_ = false;
  const ResponseContext context{c_.worker_.date(), head_request_, keep_alive_, request_.version};
  serialize_head(head, context, framing, c_.b_->out);
  c_.count_response(head.status);
  status_ = head.status;
  if (status_has_no_body(head.status) || head_request_) framing = {Framing::Kind::none, 0};
  framing_ = framing;
  head_sent_ = true;
  return true;
}

// Not coroutines themselves (one frame fewer per call): the span is copied
// into send()'s frame, and what it points to lives in the caller's.
template <typename Socket>
net::awaitable<bool> Connection<Socket>::Stream::send_body(std::span<const std::string_view> slices) {
  return send(slices, false);
}

template <typename Socket>
net::awaitable<bool> Connection<Socket>::Stream::send_last(std::span<const std::string_view> slices) {
  return send(slices, true);
}

// Writes the queued head (if still queued), the slices in the framing (one
// chunk for all of them) and, with `last`, the end of the body: one write
// for a whole small answer.
template <typename Socket>
net::awaitable<bool> Connection<Socket>::Stream::send(std::span<const std::string_view> slices, bool last) {
  if (aborted_ || !head_sent_ || finished_ || slices.size() > kMaxSlices) co_return false;
  std::uint64_t size = 0;
  for (const auto slice : slices) size += slice.size();
  if (framing_.kind == Framing::Kind::none) slices = {}, size = 0;
  if (framing_.kind == Framing::Kind::length &&
      (size > framing_.length - sent_ || (last && sent_ + size != framing_.length))) {
    abort();  // longer, or shorter at its end, than its Content-Length: never passed on as whole
    co_return false;
  }
  sent_ += size;
  const bool chunk = framing_.kind == Framing::Kind::chunked && size > 0;
  const ChunkSizeLine size_line(size);
  std::array<net::const_buffer, kMaxSlices + 4> buffers;
  std::size_t count = 0;
  buffers[count++] = net::const_buffer(c_.b_->out.data(), c_.b_->out.size());
  if (chunk) buffers[count++] = net::buffer(size_line.text());
  for (const auto slice : slices) buffers[count++] = net::buffer(slice);
  if (chunk) buffers[count++] = net::buffer(kChunkEnd);
  if (last && framing_.kind == Framing::Kind::chunked) buffers[count++] = net::buffer(kLastChunk);
  if (last) finished_ = true;
  const std::span<net::const_buffer> used(buffers.data(), count);
  if (net::buffer_size(used) == 0) co_return true;
  const std::span<const net::const_buffer> rest = c_.write_now(used, writes_);
  bool ok = true;
  if (!rest.empty()) ok = co_await c_.write(rest);
  c_.b_->out.clear();
  if (!ok) aborted_ = true;
  co_return ok;
}

template <typename Socket>
net::awaitable<bool> Connection<Socket>::Stream::finish() {
  if (aborted_ || !head_sent_ || finished_) co_return false;
  if (framing_.kind == Framing::Kind::length && sent_ != framing_.length) {
    abort();
    co_return false;
  }
  if (framing_.kind == Framing::Kind::chunked) c_.b_->out.append(kLastChunk);
  finished_ = true;  // the connection's loop writes what is left in the output
  co_return true;
}

template <typename Socket>
Connection<Socket>::Connection(Socket socket, std::shared_ptr<const TlsCredentials> credentials, Worker& worker,
                               Handler& handler)
    : credentials_(std::move(credentials)),
      socket_(std::move(socket)),
      worker_(worker),
      handler_(handler),
      in_(worker.buffers().input_capacity(), nullptr) {
  // A new connection must start its first request within the header timeout.
  read_deadline_ = clock::now() + worker.limits().header_timeout;
  worker_.attach(*this);
}

template <typename Socket>
Connection<Socket>::~Connection() {
  release_buffers();
  worker_.detach(*this);
}

template <typename Socket>
void Connection<Socket>::acquire_buffers() {
  if (b_) return;
  b_ = worker_.buffers().take();
  b_->request.tls = kTls;
  in_.give_storage(std::move(b_->input));
}

template <typename Socket>
void Connection<Socket>::release_buffers() noexcept {
  if (!b_) return;
  b_->input = in_.take_storage();
  worker_.buffers().give(std::move(b_));
}

template <typename Socket>
void Connection<Socket>::shed(clock::time_point now) noexcept {
  if (idle_ && b_ && !shed_requested_ && served_ > 0 && in_.empty() && now - idle_since_ >= kShedAfter) {
    shed_requested_ = true;
    error_code ignored;
    tcp_socket().cancel(ignored);
  }
}

template <typename Socket>
void Connection<Socket>::on_drain() noexcept {
  if (h2_ != nullptr) h2_->begin_drain();
}

template <typename Socket>
bool Connection<Socket>::input_pending() noexcept {
  if constexpr (kTls) {
    if (SSL_has_pending(socket_.native_handle()) == 1) return true;  // OpenSSL holds some already
  }
  // A new connection's first request is usually in by the time it is
  // accepted: looked for first, it saves the reactor's round trip of a wait.
  // (An idle keep-alive connection's next request is not: it waits.)
  char first = 0;
  return served_ == 0 && ::recv(tcp_socket().native_handle(), &first, 1, MSG_PEEK | MSG_DONTWAIT) == 1;
}

template <typename Socket>
bool Connection<Socket>::idle() const noexcept {
  if (h2_ != nullptr) return h2_->idle();
  if (!idle_ || (served_ == 0 && clock::now() - accepted_at_ < kFirstRequestGrace)) return false;
  int waiting = 0;  // bytes of a next request already here: it is answered, not dropped
  return ::ioctl(const_cast<Connection&>(*this).tcp_socket().native_handle(), FIONREAD, &waiting) != 0 || waiting == 0;
}

template <typename Socket>
void Connection<Socket>::expire() noexcept {
  error_code ec;
  tcp_socket().cancel(ec);
}

template <typename Socket>
net::awaitable<typename Connection<Socket>::Outcome> Connection<Socket>::run(bool readable) {
  if constexpr (kTls) {
    if (!std::exchange(handshaken_, true)) {
      if (!co_await handshake()) co_return Outcome::closed;
      const unsigned char* protocol = nullptr;
      unsigned int length = 0;
      SSL_get0_alpn_selected(socket_.native_handle(), &protocol, &length);
      if (length == 2 && protocol[0] == 'h' && protocol[1] == '2') {
        co_await serve_h2();
        co_return Outcome::closed;
      }
    }
  }
  for (;;) {
    Step step = serve_buffered();
    if (step == Step::stream) {
      if (has_output() && !flush_now() && !co_await flush()) co_return Outcome::closed;
      const StreamEnd end = co_await serve_stream();
      if (end == StreamEnd::reset) co_return Outcome::closed;  // see serve_stream()
      step = end == StreamEnd::keep_alive ? Step::flush : Step::close;
    }
    if (has_output() && !flush_now() && !co_await flush()) co_return Outcome::closed;
    if (step == Step::close) {
      // Whatever the client sent after the last answer must be read, not
      // left unread: closing then would reset the connection and destroy
      // answers still on their way (RFC 9112 §9.6).
      co_await linger();
      co_return Outcome::closed;
    }
    if (step == Step::flush) continue;
    arm_read_deadline();
    if (worker_.draining() && idle()) co_return Outcome::closed;
    if (!b_) {
      // Idle without buffers: the next request's first bytes bring them.
      // Until they come, this coroutine ends and the connection waits
      // without its frames (serve_connection()).
      if (!std::exchange(readable, false) && !input_pending()) co_return Outcome::waiting;
      acquire_buffers();
    }
    const auto space = in_.writable();
    if (space.empty()) {
      // Beast bounds the header block, not a chunk extension or the
      // trailers: one of those filled the buffer.
      answer_error(kFieldsTooLarge.status, kFieldsTooLarge.message);
      if (co_await flush()) co_await linger();
      co_return Outcome::closed;
    }
    // idle_ (arm_read_deadline()): nothing of a next request is here yet.
    auto [ec, n] =
        co_await read_some(net::buffer(space.data(), space.size()), idle_ ? Read::next_message : Read::rest_of_message);
    if (ec == net::error::operation_aborted && shed_requested_ && idle_ && in_.empty()) {
      // shed() took the read back: wait for the next request without buffers.
      shed_requested_ = false;
      release_buffers();
      continue;
    }
    shed_requested_ = false;
    if (ec) co_return Outcome::closed;
    in_.commit(n);
  }
}

template <typename Socket>
auto Connection<Socket>::serve_buffered() -> Step {
  std::size_t answered = 0;
  while (!in_.empty()) {
    if (!b_->parser) {
      b_->request.clear();
      b_->response.clear();
      b_->parser.emplace(b_->request, worker_.limits());
      continue_sent_ = false;
      header_deadline_armed_ = false;
      head_planned_ = false;
    }
    if (!b_->parser->got_some()) {
      if (skip_empty_lines()) continue;
      read_later_minor_as_http11(in_.unread());
    }
    error_code ec;
    const std::string_view data = in_.readable();
    const std::size_t used = b_->parser->put(net::const_buffer(data.data(), data.size()), ec);
    if (!b_->request.refused_method.empty()) {
      answer_refused_method();
      return Step::close;
    }
    if (ec && ec != bhttp::error::need_more) {
      const ErrorAnswer e = error_answer(ec, data, worker_.limits().header_bytes, !b_->request.method.empty());
      answer_error(e.status, e.message);
      return Step::close;
    }
    in_.consume(used);
    if (!head_planned_ && b_->parser->is_header_done()) {
      head_planned_ = true;
      head_at_ = clock::now();
      rate_window_end_ = head_at_ + worker_.limits().body_timeout;
      rate_window_base_ = 0;
      b_->note.clear();
      if (const Step step = on_head(); step != Step::need_more) return step;
    }
    if (ec == bhttp::error::need_more) break;
    if (!b_->parser->is_done()) {
      if (used == 0) break;
      continue;
    }
    const bool keep_alive = answer();
    ++served_;
    b_->parser.reset();
    if (!keep_alive) return Step::close;
    if (++answered >= worker_.limits().pipelined_requests) return Step::flush;
  }
  // A client that sent "Expect: 100-continue" waits for this before the body.
  if (b_ && b_->parser && b_->parser->is_header_done() && !b_->parser->is_done() && b_->request.expect_continue &&
      !continue_sent_) {
    b_->out.append(kContinue);
    continue_sent_ = true;
  }
  return Step::need_more;
}

template <typename Socket>
auto Connection<Socket>::on_head() -> Step {
  if (handler_.streams(b_->request.view())) {
    b_->request.streaming = true;
    return Step::stream;
  }
  // Buffered: the rest of the request is parsed in as few steps as possible.
  b_->parser->eager(true);
  return Step::need_more;
}

template <typename Socket>
bool Connection<Socket>::answer() {
  const Request request = b_->request.view();
  ResponseContext context;
  context.date = worker_.date();
  context.head = request.method == "HEAD";
  context.keep_alive = b_->parser->keep_alive() && !worker_.draining();
  context.version = request.version;
  context.note = &b_->note;
  Response response(b_->out, b_->response, context);
  try {
    if (request.target == "*") {
      answer_server_options(response);  // OPTIONS *, the only method the parser lets "*" through with
    } else {
      handler_.handle(request, response);
    }
  } catch (...) {
    response.close_connection();
  }
  if (!response.sent()) {
    b_->response.clear();
    response.set_status(500);
    response.close_connection();
    response.send("internal server error\n");
  }
  worker_.stats().request_body_bytes.add(request.body.size());
  count_response(response.status());
  observe_duration();
  if (worker_.logging()) log_access(&request, response.status(), response.body_bytes());
  return response.keep_alive();
}

// RFC 9112 §2.2: empty lines before a request line (a stray CRLF after a
// body, say) are ignored. True when some were skipped.
template <typename Socket>
bool Connection<Socket>::skip_empty_lines() noexcept {
  const std::string_view data = in_.readable();
  std::size_t n = 0;
  while (n < data.size() && (data[n] == '\n' || (data[n] == '\r' && n + 1 < data.size() && data[n + 1] == '\n'))) {
    n += data[n] == '\r' ? 2u : 1u;
  }
  in_.consume(n);
  return n > 0;
}

template <typename Socket>
void Connection<Socket>::answer_refused_method() {
  ResponseContext context;
  context.date = worker_.date();
  context.keep_alive = false;
  b_->response.clear();
  Response response(b_->out, b_->response, context);
  http::answer_refused_method(response, b_->request.refused_method);
  count_response(response.status());
  if (worker_.logging()) log_access(nullptr, response.status(), response.body_bytes());
}

template <typename Socket>
void Connection<Socket>::answer_error(unsigned status, std::string_view message) {
  ResponseContext context;
  context.date = worker_.date();
  context.keep_alive = false;
  b_->response.clear();
  Response response(b_->out, b_->response, context);
  cors::Decision decision;
  if (b_->parser && b_->parser->is_header_done()) use_route_cors(handler_, b_->request, response, decision);
  http::answer_error(response, {status, message});
  count_response(status);
  if (worker_.logging()) log_access(nullptr, status, response.body_bytes());
}

template <typename Socket>
void Connection<Socket>::log_access(const Request* request, unsigned status, std::uint64_t body_bytes) {
  const auto duration = head_planned_ ? clock::now() - head_at_ : clock::duration::zero();
  worker_.log_exchange(peer_address(), request, status, body_bytes, duration, b_->note);
}

template <typename Socket>
std::string_view Connection<Socket>::peer_address() {
  if (peer_.empty()) {
    error_code ec;
    const auto endpoint = tcp_socket().remote_endpoint(ec);
    peer_ = ec ? "unknown" : endpoint.address().to_string();
  }
  return peer_;
}

template <typename Socket>
void Connection<Socket>::count_response(unsigned status) noexcept {
  worker_.count_response(status);
}

template <typename Socket>
void Connection<Socket>::observe_duration() noexcept {
  if (head_planned_) worker_.stats().request_duration.observe(clock::now() - head_at_);
}

template <typename Socket>
auto Connection<Socket>::serve_stream() -> net::awaitable<StreamEnd> {
  idle_ = false;
  read_deadline_ = clock::time_point::max();
  Stream exchange(*this);
  try {
    co_await handler_.stream(exchange);
  } catch (...) {
    exchange.abort();
  }
  ++served_;
  if (exchange.head_sent()) observe_duration();
  if (exchange.head_sent() && worker_.logging())
    log_access(&exchange.request(), exchange.status(), exchange.body_bytes());
  if (exchange.aborted() && exchange.head_sent()) {
    // An answer broken off: the client must see a reset, not a clean end
    // that an HTTP/1.0 or close-delimited reader would take for the whole
    // body.
    error_code ignored;
    tcp_socket().set_option(net::socket_base::linger(true, 0), ignored);
    tcp_socket().close(ignored);  // now: Asio's destructor would clear the linger and send a FIN
    co_return StreamEnd::reset;
  }
  if (!exchange.head_sent() && !exchange.aborted() && !exchange.client_broke()) {
    // The handler gave no answer: the client's body was at fault, or the
    // handler failed.
    const error_code& ec = exchange.body_error();
    const ErrorAnswer e = ec ? error_answer(ec, {}, 0, true) : ErrorAnswer{500, "internal server error\n"};
    answer_error(e.status, e.message);
    co_return StreamEnd::close;
  }
  const bool keep_alive = exchange.keep_alive();
  b_->parser.reset();
  co_return keep_alive ? StreamEnd::keep_alive : StreamEnd::close;
}

template <typename Socket>
void Connection<Socket>::arm_read_deadline() {
  const auto now = clock::now();
  const Limits& limits = worker_.limits();
  const bool started = b_ && b_->parser && (!in_.empty() || b_->parser->got_some());
  if (!started && !idle_) idle_since_ = now;
  idle_ = !started;
  if (idle_) {
    // Until its first request, a connection keeps the constructor's deadline.
    // Counted from when it went idle: shedding its buffers re-arms the read,
    // which must not push the deadline on.
    if (served_ > 0) read_deadline_ = idle_since_ + limits.idle_timeout;
  } else if (!b_->parser->is_header_done()) {
    if (!header_deadline_armed_) {
      header_deadline_ = now + limits.header_timeout;
      header_deadline_armed_ = true;
    }
    read_deadline_ = header_deadline_;
  } else {
    read_deadline_ = std::min(now + limits.body_timeout, body_rate_deadline(b_->request.body.size()));
  }
}

// min_body_rate over consecutive windows of body_timeout, the first from
// the head: each must bring its rate times its length in bytes, so that a
// burst cannot buy a long trickle after it (an average since the head let
// 1 MiB sent at once earn half an hour at 500 bytes a second); bytes past
// a window's share count for the next one only. Time the server spends not
// reading (a streamed body held by a slow upstream) is not the client's:
// Stream::read_body() moves the window's end on by it.
template <typename Socket>
clock::time_point Connection<Socket>::body_rate_deadline(std::uint64_t received) noexcept {
  const Limits& limits = worker_.limits();
  if (limits.min_body_rate == 0) return clock::time_point::max();
  const auto window = limits.body_timeout;
  const std::uint64_t needed = limits.min_body_rate * static_cast<std::uint64_t>(window.count()) / 1000;
  const auto now = clock::now();
  while (now >= rate_window_end_) {
    if (received - rate_window_base_ < needed) return rate_window_end_;  // that window fell short: now
    // The window takes its share; what came beyond it counts for the next
    // window, one window's share at most.
    rate_window_base_ = std::max(rate_window_base_ + needed, received - needed);
    rate_window_end_ += window;
  }
  // Enough already: nothing is due before the next window's end.
  return received - rate_window_base_ >= needed ? rate_window_end_ + window : rate_window_end_;
}

template <typename Socket>
auto Connection<Socket>::read_some(net::mutable_buffer buffer, Read where) {
  if constexpr (kTls) {
    return socket_.read_some(buffer);
  } else {
    return async_read_drained(worker_.reactor(), socket_, buffer, where, net::as_tuple(net::deferred));
  }
}

template <typename Socket>
net::awaitable<bool> Connection<Socket>::write(std::span<const net::const_buffer> buffers) {
  write_deadline_ = clock::now() + worker_.limits().send_timeout;
  error_code ec;
  std::size_t n = 0;
  if constexpr (kTls) {
    std::tie(ec, n) = co_await socket_.write(buffers);
  } else {
    // send_timeout bounds each wait for the client to take bytes, not the
    // whole answer: a client reading a large body steadily is never cut off.
    const auto rearm = [this](const error_code& error, std::size_t) -> std::size_t {
      write_deadline_ = clock::now() + worker_.limits().send_timeout;
      return error ? 0 : kWriteSliceBytes;
    };
    std::tie(ec, n) = co_await net::async_write(socket_, buffers, rearm, use_tuple);
  }
  write_deadline_ = clock::time_point::max();
  worker_.stats().response_bytes.add(n);
  co_return !ec;
}

// Sends what the socket takes of `buffers` at once, as `writes` allows
// (eager_write.hpp): no coroutine frame, no trip through the scheduler.
// What it returns is left for write(); over TLS, everything is.
template <typename Socket>
std::span<net::const_buffer> Connection<Socket>::write_now(std::span<net::const_buffer> buffers,
                                                           EagerWrites& writes) noexcept {
  if constexpr (kTls) {
    return buffers;
  } else {
    if (write_deadline_ != clock::time_point::max()) return buffers;  // a write in flight goes first
    const EagerWrite w = writes.write(socket_.native_handle(), buffers);
    worker_.stats().response_bytes.add(w.sent);
    return w.rest;
  }
}

// Writes the output at once if the socket takes all of it, as it nearly
// always does. What the socket does not take, flush() writes.
template <typename Socket>
bool Connection<Socket>::flush_now() noexcept {
  std::array output{net::const_buffer(b_->out.data(), b_->out.size())};
  EagerWrites once;  // each batch of buffered answers tries first
  const std::span<net::const_buffer> rest = write_now(output, once);
  if (!rest.empty()) {
    b_->out.erase(0, b_->out.size() - rest.front().size());
    return false;
  }
  idle_ = false;
  output_sent();
  return true;
}

template <typename Socket>
net::awaitable<bool> Connection<Socket>::flush() {
  idle_ = false;
  read_deadline_ = clock::time_point::max();  // nothing is read while the answers go out
  const std::array buffers{net::const_buffer(b_->out.data(), b_->out.size())};
  const bool ok = co_await write(buffers);
  output_sent();
  co_return ok;
}

// The output emptied once written, and given back when an answer grew it large.
template <typename Socket>
void Connection<Socket>::output_sent() noexcept {
  b_->out.clear();
  if (b_->out.capacity() > kKeptOutputCapacity) std::string().swap(b_->out);
}

// The TLS handshake, within the header timeout (the constructor's read
// deadline). A plain HTTP request on the TLS port gets a plain answer that
// says so rather than a handshake failure the client cannot explain.
template <typename Socket>
net::awaitable<bool> Connection<Socket>::handshake() {
  tcp::socket& raw = tcp_socket();
  // The ClientHello is usually in by the time the connection is accepted:
  // looked for first, it saves the reactor's round trip of a wait.
  char first = 0;
  ssize_t peeked = ::recv(raw.native_handle(), &first, 1, MSG_PEEK | MSG_DONTWAIT);
  if (peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    auto [wait_error] = co_await raw.async_wait(tcp::socket::wait_read, use_tuple);
    if (wait_error) co_return false;
    peeked = ::recv(raw.native_handle(), &first, 1, MSG_PEEK | MSG_DONTWAIT);
  }
  if (peeked != 1) co_return false;
  if (first != kTlsHandshakeRecord) {
    if (first >= 'A' && first <= 'Z') co_await refuse_plain_http();
    co_return false;
  }
  if constexpr (kTls) {
    if (co_await socket_.handshake()) co_return false;
  }
  read_deadline_ = clock::now() + worker_.limits().header_timeout;  // the first request's own time
  co_return true;
}

template <typename Socket>
net::awaitable<void> Connection<Socket>::serve_h2() {
  if constexpr (kTls) {
    H2Session session({socket_, read_deadline_, write_deadline_, peer_address()}, worker_, handler_);
    h2_ = &session;
    co_await session.run();
    h2_ = nullptr;
    co_await linger();  // close_notify, within the linger time
  }
}

template <typename Socket>
net::awaitable<void> Connection<Socket>::refuse_plain_http() {
  acquire_buffers();
  tcp::socket& raw = tcp_socket();
  write_deadline_ = clock::now() + worker_.limits().send_timeout;
  auto [ec, n] =
      co_await net::async_write(raw, std::array{net::buffer(kPlainHttpHead), net::buffer(kPlainHttpBody)}, use_tuple);
  write_deadline_ = clock::time_point::max();
  if (ec) co_return;
  count_response(400);
  read_deadline_ = clock::now() + kLingerTime;
  co_await drain_plain();  // so that closing does not reset the answer
}

template <typename Socket>
net::awaitable<void> Connection<Socket>::linger() {
  acquire_buffers();
  idle_ = false;
  read_deadline_ = clock::now() + kLingerTime;
  if constexpr (kTls) {
    // close_notify, then what the client still sends (OpenSSL discards it)
    // until its own close_notify or its close, within the linger time.
    co_await socket_.shutdown();
    co_return;
  }
  co_await drain_plain();
}

// Stops sending on the TCP socket, then reads (and drops) what the client
// still sends, up to kLingerBytes, until it closes or the read deadline.
template <typename Socket>
net::awaitable<void> Connection<Socket>::drain_plain() {
  tcp::socket& raw = tcp_socket();
  error_code ignored;
  raw.shutdown(tcp::socket::shutdown_send, ignored);
  for (std::size_t drained = 0; drained < kLingerBytes;) {
    in_.consume(in_.readable().size());
    const auto space = in_.writable();
    auto [ec, n] = co_await raw.async_read_some(net::buffer(space.data(), space.size()), use_tuple);
    if (ec) co_return;
    drained += n;
  }
}

template class Connection<tcp::socket>;
template class Connection<TlsSocket>;

}  // namespace corsd::http
