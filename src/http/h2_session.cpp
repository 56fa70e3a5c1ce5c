#include "h2_session.hpp"

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <charconv>
#include <cstring>

#include "corsd/cors/detail/token.hpp"
#include "error_answers.hpp"
#include "worker.hpp"

namespace corsd::http {
namespace {

using clock = Watched::clock;

// What one write gathers at most; an idle session keeps an output buffer of
// kKeptOutput at most.
constexpr std::size_t kWriteBatch = 64 * 1024;
constexpr std::size_t kKeptOutput = 4096;
constexpr std::size_t kSpareStreams = 16;
// Per stream and for the connection: how much DATA a client may send ahead
// of what the handlers have taken.
constexpr std::int32_t kWindow = 64 * 1024;

// Fields HTTP/2 forbids (RFC 9113 §8.2.2) and those the session writes
// itself (framing, the merged Vary, Date).
bool is_left_out(std::string_view name) noexcept {
  for (std::string_view n : {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
                             "content-length", "vary", "te"}) {
    if (cors::ascii_iequals(name, n)) return true;
  }
  return false;
}

std::string_view view(const std::uint8_t* p, std::size_t n) noexcept { return {reinterpret_cast<const char*>(p), n}; }

std::uint8_t* bytes(const char* p) noexcept { return reinterpret_cast<std::uint8_t*>(const_cast<char*>(p)); }

}  // namespace

struct H2Session::Stream {
  Stream(const Limits& limits, net::any_io_executor executor)
      : storage(limits), wake(std::move(executor), clock::time_point::max()) {}

  void reset(std::int32_t stream_id) {
    id = stream_id;
    storage.clear();
    storage.version = 20;
    storage.tls = true;
    authority = {};
    content_length.reset();
    pending.clear();
    held.clear();
    out.clear();
    out_at = 0;
    head.clear();
    note.clear();
    status = 0;
    body_bytes = 0;
    head_done = end_stream = body_expected = too_large = body_too_large = streaming = false;
    closed = answered = out_eof = coroutine = aborted = body_stopped = false;
    client_done = reset_when_answered = end_sent = false;
  }
  // Wakes the stream's coroutine if it waits (see wait()).
  void notify() noexcept { wake.cancel(); }

  std::int32_t id = 0;
  RequestStorage storage;
  std::string_view authority;
  std::optional<std::uint64_t> content_length;
  std::string pending;  // request DATA not yet given to the handler
  std::string held;     // the slice the handler holds
  std::string out;      // response DATA not yet taken by nghttp2
  std::size_t out_at = 0;
  ResponseHead head;
  AccessNote note;
  net::steady_timer wake;
  clock::time_point head_at{};
  unsigned status = 0;
  std::uint64_t body_bytes = 0;  // response body bytes queued
  bool head_done = false;        // the request's head is complete
  bool end_stream = false;       // the client's END_STREAM arrived
  bool body_expected = false;    // the HEADERS did not end the stream
  bool too_large = false;        // the head passed the limits
  bool body_too_large = false;   // a buffered body passed max_body
  bool streaming = false;
  bool closed = false;    // nghttp2 has closed the stream
  bool answered = false;  // a response head was submitted
  bool out_eof = false;   // `out` holds the end of the response body
  bool coroutine = false;
  bool aborted = false;
  bool body_stopped = false;
  bool client_done = false;          // the client's END_STREAM has been received
  bool reset_when_answered = false;  // RST_STREAM(NO_ERROR) once the answer is out
  bool end_sent = false;             // the answer's END_STREAM has gone out
};

// A streamed request, as its handler sees it (exchange.hpp).
class H2Session::StreamExchange final : public Exchange {
 public:
  StreamExchange(H2Session& session, Stream& s) : session_(session), s_(s), request_(s.storage.view()) {}

  const Request& request() const noexcept override { return request_; }
  std::string_view peer_address() override { return session_.carrier_.peer; }
  std::string_view date() const noexcept override { return session_.worker_.date(); }
  std::optional<std::uint64_t> body_length() const noexcept override {
    return s_.body_expected ? s_.content_length : std::optional<std::uint64_t>(0);
  }
  // Without a content-length an HTTP/2 body's length is unknown until its
  // end: upstream it is sent chunked.
  bool body_chunked() const noexcept override { return s_.body_expected && !s_.content_length; }
  bool body_done() const noexcept override { return s_.end_stream && s_.pending.empty(); }
  bool head_sent() const noexcept override { return s_.answered; }
  AccessNote& note() noexcept override { return s_.note; }

  net::awaitable<BodySlice> read_body() override {
    release_slice();
    for (;;) {
      if (!s_.pending.empty()) {
        s_.held.swap(s_.pending);
        session_.worker_.stats().request_body_bytes.add(s_.held.size());
        co_return BodySlice{s_.held};
      }
      if (s_.end_stream) co_return BodySlice{};
      if (s_.closed || s_.aborted || s_.body_stopped || session_.closing_) co_return BodySlice{{}, false};
      // A client that sent "expect: 100-continue" waits for this before its body.
      if (s_.storage.expect_continue && !continue_sent_ && !s_.answered) {
        continue_sent_ = true;
        ResponseHead interim;
        interim.status = 100;
        session_.submit_head(s_, interim, std::nullopt, false, /*interim=*/true);
      }
      co_await wait();
    }
  }

  net::awaitable<bool> send_interim(const ResponseHead& head) override {
    if (s_.answered || s_.closed || head.status < 100 || head.status >= 200 || head.status == 101) co_return false;
    co_return session_.submit_head(s_, head, std::nullopt, false, /*interim=*/true);
  }

  bool send_head(const ResponseHead& head, Framing framing) override {
    if (s_.answered || s_.closed || s_.aborted) return false;
    const bool no_body = status_has_no_body(head.status) || request_.method == "HEAD";
    std::optional<std::uint64_t> length;
    if (framing.kind == Framing::Kind::length) length = framing.length;
    length_ = framing.kind == Framing::Kind::length && !no_body ? length : std::nullopt;
    if (!session_.submit_head(s_, head, length, !no_body)) return false;
    session_.worker_.count_response(head.status);
    if (no_body) s_.out_eof = true;
    return true;
  }

  net::awaitable<bool> send_body(std::span<const std::string_view> slices) override { return send(slices, false); }
  net::awaitable<bool> send_last(std::span<const std::string_view> slices) override { return send(slices, true); }

  net::awaitable<bool> finish() override {
    if (!s_.answered || s_.closed || s_.aborted) co_return false;
    if (s_.out_eof) co_return true;  // a head without a body ended it already
    if (length_ && s_.body_bytes != *length_) {
      abort();
      co_return false;
    }
    s_.out_eof = true;
    session_.resume(s_);
    co_return true;
  }

  void stop_body() noexcept override {
    s_.body_stopped = true;
    s_.notify();
  }

  void abort() noexcept override {
    if (s_.aborted) return;
    s_.aborted = true;
    if (!s_.closed) nghttp2_submit_rst_stream(session_.session_, NGHTTP2_FLAG_NONE, s_.id, NGHTTP2_INTERNAL_ERROR);
    session_.wake_writer();
    s_.notify();
  }

  bool aborted() const noexcept { return s_.aborted; }

 private:
  // Queues the slices (copied: nghttp2 takes DATA from the stream's
  // buffer as the client's window allows) and returns once they are out.
  net::awaitable<bool> send(std::span<const std::string_view> slices, bool last) {
    if (!s_.answered || s_.closed || s_.aborted) co_return false;
    if (request_.method == "HEAD" || status_has_no_body(s_.status)) co_return true;  // no body to send
    if (s_.out_eof) co_return false;
    std::uint64_t size = 0;
    for (const auto slice : slices) size += slice.size();
    if (length_ && (size > *length_ - s_.body_bytes || (last && s_.body_bytes + size != *length_))) {
      abort();  // longer, or shorter at its end, than its content-length: never passed on as whole
      co_return false;
    }
    for (const auto slice : slices) s_.out.append(slice);
    s_.body_bytes += size;
    if (last) s_.out_eof = true;
    session_.resume(s_);
    while (s_.out_at < s_.out.size() && !s_.closed && !s_.aborted && !session_.closing_) co_await wait();
    co_return !s_.closed && !s_.aborted;
  }

  // The client may send more once the handler has taken a slice.
  void release_slice() {
    if (s_.held.empty()) return;
    session_.give_back_window(s_, s_.held.size());
    s_.held.clear();
  }

  net::awaitable<void> wait() {
    s_.wake.expires_at(clock::time_point::max());
    co_await s_.wake.async_wait(net::as_tuple(net::use_awaitable));
  }

  H2Session& session_;
  Stream& s_;
  Request request_;
  std::optional<std::uint64_t> length_;  // the declared length of the response body
  bool continue_sent_ = false;
};

H2Session::H2Session(H2Carrier carrier, Worker& worker, Handler& handler)
    : carrier_(carrier),
      worker_(worker),
      handler_(handler),
      writer_wake_(worker.io(), clock::time_point::max()),
      streams_done_(worker.io(), clock::time_point::max()),
      free_frame_tokens_(static_cast<double>(worker.limits().h2_free_frame_burst)),
      free_frames_at_(clock::now()) {
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, on_frame_send);
  nghttp2_option* options = nullptr;
  nghttp2_option_new(&options);
  // Windows open as handlers take the data, not as it arrives.
  nghttp2_option_set_no_auto_window_update(options, 1);
  // What a client may make the session hold of its own: a header block
  // (HPACK's output, not its input) and queued SETTINGS and PING acks.
  nghttp2_option_set_max_send_header_block_length(options, 64 * 1024);
  nghttp2_option_set_max_outbound_ack(options, 100);
  nghttp2_option_set_max_settings(options, 16);
  nghttp2_session_server_new2(&session_, callbacks, this, options);
  nghttp2_option_del(options);
  nghttp2_session_callbacks_del(callbacks);
  const Limits& limits = worker_.limits();
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits.h2_max_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kWindow},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<std::uint32_t>(limits.header_bytes)},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  // The connection's window as large as one stream's: the client cannot
  // queue more for all streams together than the handlers take.
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kWindow);
}

H2Session::~H2Session() { nghttp2_session_del(session_); }

H2Session::Stream* H2Session::find(std::int32_t id) noexcept {
  const auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

int H2Session::on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* self) {
  auto& session = *static_cast<H2Session*>(self);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  std::unique_ptr<Stream> s;
  if (session.spare_.empty()) {
    s = std::make_unique<Stream>(session.worker_.limits(), session.worker_.io().get_executor());
  } else {
    s = std::move(session.spare_.back());
    session.spare_.pop_back();
  }
  s->reset(frame->hd.stream_id);
  s->head_at = clock::now();
  session.streams_[frame->hd.stream_id] = std::move(s);
  return 0;
}

int H2Session::on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                         std::size_t name_length, const std::uint8_t* value, std::size_t value_length, std::uint8_t,
                         void* self) {
  auto& session = *static_cast<H2Session*>(self);
  Stream* s = session.find(frame->hd.stream_id);
  if (s == nullptr || s->too_large) return 0;
  if (s->head_done) return 0;  // trailers: dropped, as on HTTP/1.1 (nothing may steer CORS from behind the body)
  const std::string_view n = view(name, name_length), v = view(value, value_length);
  RequestStorage& storage = s->storage;
  bool stored = true;
  if (n == ":method") {
    stored = storage.store(v, storage.method);
  } else if (n == ":path") {
    stored = storage.store(v, storage.target);
  } else if (n == ":authority") {
    stored = storage.store(v, s->authority);
  } else if (n.starts_with(':')) {
    return 0;  // :scheme; nghttp2 has checked the pseudo-fields
  } else if (storage.fields.size() >= session.worker_.limits().header_fields) {
    stored = false;
  } else {
    Field f;
    stored = storage.store(n, f.name) && storage.store(v, f.value);
    if (stored) storage.fields.push_back(f);
  }
  if (!stored) s->too_large = true;
  return 0;
}

int H2Session::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* self) {
  auto& session = *static_cast<H2Session*>(self);
  const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (frame->hd.type == NGHTTP2_RST_STREAM ||
      (frame->hd.type == NGHTTP2_DATA && frame->hd.length == 0 && !end_stream)) {
    session.count_free_frame();
  }
  Stream* s = session.find(frame->hd.stream_id);
  if (s == nullptr) return 0;
  const bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    s->head_done = true;
    s->body_expected = !end;
    s->client_done = end;
    session.on_request_head(*s);
  }
  if (end && frame->hd.type == NGHTTP2_DATA) s->client_done = true;
  if (end && (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA)) {
    // on_request_head() may have answered and freed a stream it refused.
    if (Stream* still = session.find(frame->hd.stream_id)) session.on_request_end(*still);
  }
  return 0;
}

int H2Session::on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* self) {
  auto& session = *static_cast<H2Session*>(self);
  const bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (!end || (frame->hd.type != NGHTTP2_DATA && frame->hd.type != NGHTTP2_HEADERS)) return 0;
  Stream* s = session.find(frame->hd.stream_id);
  if (s == nullptr) return 0;
  s->end_sent = true;
  if (s->reset_when_answered && !s->client_done && !s->closed) {
    nghttp2_submit_rst_stream(session.session_, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_NO_ERROR);
  }
  return 0;
}

int H2Session::on_data_chunk(nghttp2_session*, std::uint8_t, std::int32_t stream_id, const std::uint8_t* data,
                             std::size_t length, void* self) {
  auto& session = *static_cast<H2Session*>(self);
  Stream* s = session.find(stream_id);
  if (s == nullptr) {
    nghttp2_session_consume_connection(session.session_, length);  // a stream already freed
    return 0;
  }
  if ((s->answered && !s->streaming) || !s->head_done || s->body_stopped) {
    // Nobody takes it (answered already; a streamed body goes on to its
    // handler even then): it still counts against the windows, so give it back.
    session.give_back_window(*s, length);
    return 0;
  }
  if (s->streaming) {
    s->pending.append(view(data, length));
    s->notify();
    return 0;
  }
  nghttp2_session_consume(session.session_, stream_id, length);
  if (s->storage.body.size() + length > session.worker_.limits().body_bytes) {
    s->body_too_large = true;
    session.answer_error(*s, kBodyTooLarge.status, kBodyTooLarge.message);
    return 0;
  }
  s->storage.body.append(view(data, length));
  return 0;
}

int H2Session::on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t, void* self) {
  auto& session = *static_cast<H2Session*>(self);
  Stream* s = session.find(stream_id);
  if (s == nullptr) return 0;
  s->closed = true;
  if (s->coroutine) {
    s->notify();  // its coroutine releases it
  } else {
    session.release(*s);
  }
  return 0;
}

ssize_t H2Session::read_data(nghttp2_session*, std::int32_t, std::uint8_t* buffer, std::size_t length,
                             std::uint32_t* flags, nghttp2_data_source* source, void* self) {
  auto& session = *static_cast<H2Session*>(self);
  auto& s = *static_cast<Stream*>(source->ptr);
  const std::size_t n = std::min(length, s.out.size() - s.out_at);
  std::memcpy(buffer, s.out.data() + s.out_at, n);
  s.out_at += n;
  if (n > 0) session.last_data_sent_ = clock::now();
  if (s.out_at == s.out.size()) {
    s.out.clear();
    s.out_at = 0;
    s.notify();  // a send waiting for its bytes to go out returns
    if (s.out_eof) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
    } else if (n == 0) {
      return NGHTTP2_ERR_DEFERRED;  // resumed by the next send
    }
  }
  return static_cast<ssize_t>(n);
}

void H2Session::on_request_head(Stream& s) {
  RequestStorage& storage = s.storage;
  if (s.too_large) return answer_error(s, kFieldsTooLarge.status, kFieldsTooLarge.message);
  // HTTP/1.1's Host is HTTP/2's :authority (RFC 9113 §8.3.1): handlers and
  // upstreams see it as Host. A request with both must not say two things.
  const auto host = storage.view().find("host");
  if (host && !s.authority.empty() && *host != s.authority) return answer_error(s, kBadHost.status, kBadHost.message);
  if (!host && !s.authority.empty()) storage.fields.push_back({"host", s.authority});
  const auto authority = storage.view().find("host");
  if (!authority || !is_valid_host(*authority) || storage.view().count("host") != 1) {
    return answer_error(s, kBadHost.status, kBadHost.message);
  }
  // Cookies may come split into several fields (RFC 9113 §8.2.3); an
  // HTTP/1.1 upstream, and corsd's own apps, want them as one.
  if (storage.view().count("cookie") > 1) {
    std::string joined;
    std::erase_if(storage.fields, [&joined](const Field& f) {
      if (!cors::ascii_iequals(f.name, "cookie")) return false;
      joined.append(joined.empty() ? "" : "; ").append(f.value);
      return true;
    });
    Field cookie{"cookie", {}};
    if (!storage.store(joined, cookie.value)) return answer_error(s, kFieldsTooLarge.status, kFieldsTooLarge.message);
    storage.fields.push_back(cookie);
  }
  if (const auto expect = storage.view().find("expect"))
    storage.expect_continue = cors::ascii_iequals(*expect, "100-continue");
  if (const auto length = storage.view().find("content-length")) {
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(length->data(), length->data() + length->size(), n);
    if (ec == std::errc{} && end == length->data() + length->size()) s.content_length = n;
  }
  if (const std::string_view refused = refused_method(storage.method); !refused.empty()) {
    return answer_own(s, [refused](Response& r) { answer_refused_method(r, refused); });
  }
  storage.normalize();
  if (storage.normalized.error != TargetError::none || (storage.target == "*" && storage.method != "OPTIONS")) {
    return answer_error(s, kBadTarget.status, kBadTarget.message);
  }
  const bool streams = handler_.streams(storage.view());
  if (s.content_length && *s.content_length > worker_.limits().body_bytes && !streams) {
    return answer_error(s, kBodyTooLarge.status, kBodyTooLarge.message);
  }
  if (streams) {
    s.streaming = storage.streaming = true;
    s.coroutine = true;
    ++running_;
    net::co_spawn(worker_.io(), serve_stream(s), [](std::exception_ptr) {});
  }
}

void H2Session::on_request_end(Stream& s) {
  s.end_stream = true;
  if (s.streaming) {
    s.notify();
  } else if (!s.answered && !s.body_too_large) {
    answer(s);
  }
}

void H2Session::answer(Stream& s) {
  const Request request = s.storage.view();
  ResponseContext context{worker_.date(), request.method == "HEAD", true, 20, &s.note};
  s.head.clear();
  s.out.clear();
  Response response(s.out, s.head, context);
  try {
    if (request.target == "*") {
      answer_server_options(response);  // as on HTTP/1.1
    } else {
      handler_.handle(request, response);
    }
  } catch (...) {
  }
  if (!response.sent()) {
    s.head.clear();
    s.out.clear();
    response.set_status(500);
    response.send("internal server error\n");
  }
  worker_.stats().request_body_bytes.add(request.body.size());
  const bool has_body = !s.out.empty();
  submit_head(s, s.head, response.content_length(), has_body);
  s.out_eof = true;
  worker_.count_response(response.status());
  worker_.stats().request_duration.observe(clock::now() - s.head_at);
  if (worker_.logging()) {
    worker_.log_exchange(carrier_.peer, &request, response.status(), response.body_bytes(), clock::now() - s.head_at,
                         s.note);
  }
}

void H2Session::answer_error(Stream& s, unsigned status, std::string_view message) {
  answer_own(s, [status, message](Response& r) { http::answer_error(r, {status, message}); });
}

template <typename Write>
void H2Session::answer_own(Stream& s, Write write) {
  if (s.answered) return;
  ResponseContext context{worker_.date(), false, true, 20, &s.note};
  s.head.clear();
  s.out.clear();
  Response response(s.out, s.head, context);
  cors::Decision decision;
  if (s.head_done) use_route_cors(handler_, s.storage, response, decision);
  write(response);
  submit_head(s, s.head, response.content_length(), !s.out.empty());
  s.out_eof = true;
  worker_.count_response(response.status());
  if (worker_.logging()) {
    const Request request = s.storage.view();
    worker_.log_exchange(carrier_.peer, s.head_done ? &request : nullptr, response.status(), s.out.size(), {}, s.note);
  }
  // The rest of the request is not wanted: once the answer is out, the
  // client is asked to stop sending it (RFC 9113 §8.1; on_frame_send()).
  s.reset_when_answered = true;
  wake_writer();
}

bool H2Session::submit_head(Stream& s, const ResponseHead& head, std::optional<std::uint64_t> content_length,
                            bool has_body, bool interim) {
  // Every name and value the frame needs goes into scratch_ first, as
  // offsets; the pointers are taken once it no longer grows.
  using Entry = NvEntry;
  std::vector<Entry>& entries = nv_offsets_;
  entries.clear();
  scratch_.clear();
  const auto add = [&](std::string_view name, std::string_view value) {
    Entry e{scratch_.size(), name.size(), 0, value.size()};
    for (const char c : name) scratch_.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c);
    e.value_at = scratch_.size();
    scratch_.append(value);
    entries.push_back(e);
  };
  char status[4];
  std::to_chars(status, status + 3, head.status % 1000);
  status[3] = '\0';
  add(":status", std::string_view(status, 3));
  bool has_date = false;
  for (std::size_t i = 0; i < head.size(); ++i) {
    const auto [name, value] = head[i];
    if (is_left_out(name)) continue;
    has_date = has_date || cors::ascii_iequals(name, "date");
    add(name, value);
  }
  if (!interim) {
    const std::size_t vary_at = scratch_.size();
    scratch_.append("vary");
    const std::size_t value_at = scratch_.size();
    if (merged_vary(head, scratch_)) {
      entries.push_back({vary_at, 4, value_at, scratch_.size() - value_at});
    } else {
      scratch_.resize(vary_at);
    }
    if (!has_date) add("date", worker_.date());
    if (content_length && !status_has_no_body(head.status)) {
      char digits[24];
      const auto end = std::to_chars(digits, digits + sizeof digits, *content_length).ptr;
      add("content-length", std::string_view(digits, static_cast<std::size_t>(end - digits)));
    }
  }
  std::vector<nghttp2_nv>& nva = nva_;
  nva.clear();
  for (const Entry& e : entries) {
    nva.push_back({bytes(scratch_.data() + e.name_at), bytes(scratch_.data() + e.value_at), e.name_size, e.value_size,
                   NGHTTP2_NV_FLAG_NONE});
  }
  int rv = 0;
  if (interim) {
    rv = nghttp2_submit_headers(session_, NGHTTP2_FLAG_NONE, s.id, nullptr, nva.data(), nva.size(), nullptr);
  } else {
    nghttp2_data_provider provider{};
    provider.source.ptr = &s;
    provider.read_callback = read_data;
    const bool body = has_body && !status_has_no_body(head.status) && s.storage.method != "HEAD";
    rv = nghttp2_submit_response(session_, s.id, nva.data(), nva.size(), body ? &provider : nullptr);
    s.answered = rv == 0;
    s.status = head.status;
  }
  wake_writer();
  return rv == 0;
}

void H2Session::resume(Stream& s) {
  if (!s.closed) nghttp2_session_resume_data(session_, s.id);
  update_write_deadline();
  wake_writer();
}

net::awaitable<void> H2Session::serve_stream(Stream& s) {
  StreamExchange exchange(*this, s);
  try {
    co_await handler_.stream(exchange);
  } catch (...) {
    exchange.abort();
  }
  if (!s.answered && !exchange.aborted() && !s.closed) {
    answer_error(s, 500, "internal server error\n");
  } else if (s.answered && !s.aborted && !s.closed) {
    worker_.stats().request_duration.observe(clock::now() - s.head_at);
    if (!s.out_eof) exchange.abort();  // the handler left the body unended
    if (!s.client_done && !s.aborted) {
      // The client is asked to stop sending the rest of its body once the
      // answer is out: now, or by on_frame_send().
      s.reset_when_answered = true;
      if (s.end_sent) nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_NO_ERROR);
    }
  }
  if (s.answered && worker_.logging()) {
    worker_.log_exchange(carrier_.peer, &exchange.request(), s.status, s.body_bytes, clock::now() - s.head_at, s.note);
  }
  s.coroutine = false;
  // What the handler held or left unread still counts against the
  // connection's window: give it back, or the connection stalls once the
  // window (64 KiB) has gone to bodies nobody read to the end.
  give_back_window(s, s.held.size() + s.pending.size());
  s.held.clear();
  s.pending.clear();
  if (s.closed) release(s);
  --running_;
  wake_writer();
  streams_done_.cancel();
}

void H2Session::give_back_window(Stream& s, std::size_t bytes) noexcept {
  if (bytes == 0) return;
  if (s.closed) {
    nghttp2_session_consume_connection(session_, bytes);  // the stream's own window is gone with it
  } else {
    nghttp2_session_consume(session_, s.id, bytes);
  }
  wake_writer();
}

void H2Session::count_free_frame() noexcept {
  const auto now = clock::now();
  const double seconds = std::chrono::duration<double>(now - free_frames_at_).count();
  free_frames_at_ = now;
  // A token bucket: rapid reset (CVE-2023-44487) and empty-frame floods.
  const Limits& limits = worker_.limits();
  free_frame_tokens_ = std::min(static_cast<double>(limits.h2_free_frame_burst),
                                free_frame_tokens_ + seconds * limits.h2_free_frames_per_second) -
                       1;
  if (free_frame_tokens_ < 0) calm_down_ = true;
}

void H2Session::release(Stream& s) {
  const auto it = streams_.find(s.id);
  if (it == streams_.end()) return;
  if (spare_.size() < kSpareStreams) spare_.push_back(std::move(it->second));
  streams_.erase(it);
}

void H2Session::wake_writer() noexcept {
  write_requested_ = true;
  writer_wake_.cancel();
}

void H2Session::arm_read_deadline() noexcept {
  const Limits& limits = worker_.limits();
  bool awaiting_body = false;
  for (const auto& [id, s] : streams_) awaiting_body = awaiting_body || (!s->end_stream && !s->answered);
  const auto now = clock::now();
  carrier_.read_deadline = streams_.empty() ? now + limits.idle_timeout
                           : awaiting_body  ? now + limits.body_timeout
                                            : clock::time_point::max();
}

// A response waiting on a client that never opens its window (a zero
// window, for ever) is given send_timeout, as a client that never reads.
void H2Session::update_write_deadline() noexcept {
  bool waiting = false;
  for (const auto& [id, s] : streams_) waiting = waiting || s->out_at < s->out.size();
  if (!waiting) {
    carrier_.write_deadline = clock::time_point::max();
  } else if (carrier_.write_deadline == clock::time_point::max()) {
    carrier_.write_deadline = std::max(last_data_sent_, clock::now()) + worker_.limits().send_timeout;
  }
}

net::awaitable<void> H2Session::write_loop() {
  for (;;) {
    if (!write_requested_) {
      if (closing_) break;
      writer_wake_.expires_at(clock::time_point::max());
      co_await writer_wake_.async_wait(net::as_tuple(net::use_awaitable));
      continue;
    }
    write_requested_ = false;
    out_.clear();
    for (;;) {
      const std::uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n <= 0) break;
      out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
      if (out_.size() >= kWriteBatch) {
        write_requested_ = true;  // more may wait
        break;
      }
    }
    update_write_deadline();
    if (out_.empty()) continue;
    const auto deadline_before = carrier_.write_deadline;
    carrier_.write_deadline = std::min(deadline_before, clock::now() + worker_.limits().send_timeout);
    const std::array buffers{net::const_buffer(out_.data(), out_.size())};
    auto [ec, n] = co_await carrier_.socket.write(buffers);
    carrier_.write_deadline = clock::time_point::max();
    update_write_deadline();
    worker_.stats().response_bytes.add(n);
    if (streams_.empty() && out_.capacity() > kKeptOutput) std::string().swap(out_);
    if (!ec && !nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
      // nghttp2 is done (its GOAWAY for a connection error is out): the
      // reader must not wait for a client that may never write again.
      error_code ignored;
      carrier_.socket.next_layer().cancel(ignored);
    }
    if (ec) {
      closing_ = true;
      error_code ignored;
      carrier_.socket.next_layer().cancel(ignored);  // the reader too
      break;
    }
  }
  writer_done_ = true;
  streams_done_.cancel();
}

// No new streams; those open finish (RFC 9113 §6.8).
void H2Session::begin_drain() noexcept {
  if (goaway_sent_ || closing_) return;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                        NGHTTP2_NO_ERROR, nullptr, 0);
  goaway_sent_ = true;
  wake_writer();
}

net::awaitable<void> H2Session::run() {
  net::co_spawn(worker_.io(), write_loop(), [](std::exception_ptr) {});
  wake_writer();  // the server's SETTINGS
  for (;;) {
    if (worker_.draining()) begin_drain();  // a connection accepted as the drain began
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_) && running_ == 0) break;
    arm_read_deadline();
    // Read into the worker's scratch buffer once the socket has something,
    // and give it all to nghttp2 before the next wait: an idle session holds
    // no read buffer of its own.
    const std::span<char> scratch = worker_.scratch();
    error_code ec;
    std::size_t n = 0;
    for (auto wait = tcp::socket::wait_read;;) {
      n = carrier_.socket.read_now(net::buffer(scratch.data(), scratch.size()), ec, wait);
      if (n > 0 || ec) break;
      auto [wait_error] = co_await carrier_.socket.next_layer().async_wait(wait, net::as_tuple(net::use_awaitable));
      if ((ec = wait_error)) break;
    }
    carrier_.read_deadline = clock::time_point::max();
    if (ec) {
      if (worker_.draining()) begin_drain();  // expired as idle by the drain: say GOAWAY before closing
      break;
    }
    const ssize_t used = nghttp2_session_mem_recv(session_, reinterpret_cast<const std::uint8_t*>(scratch.data()), n);
    if (calm_down_) {
      // Unless nghttp2 has ended the session already (its own limits): one
      // GOAWAY, whose last stream never grows.
      if (nghttp2_session_want_read(session_)) nghttp2_session_terminate_session(session_, NGHTTP2_ENHANCE_YOUR_CALM);
      wake_writer();
      break;
    }
    if (used < 0) {
      // A protocol error, a flood nghttp2 refused (NGHTTP2_ERR_FLOODED), or
      // a client that sent no preface: GOAWAY with the reason, then close.
      nghttp2_session_terminate_session(
          session_, used == NGHTTP2_ERR_FLOODED ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR);
      wake_writer();
      break;
    }
    wake_writer();
  }
  closing_ = true;
  for (auto& [id, s] : streams_) s->notify();
  wake_writer();
  while (running_ > 0 || !writer_done_) {
    streams_done_.expires_at(clock::time_point::max());
    co_await streams_done_.async_wait(net::as_tuple(net::use_awaitable));
  }
}

}  // namespace corsd::http
