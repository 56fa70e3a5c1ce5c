#include "corsd/proxy/proxy.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <cstdio>

#include "corsd/http/chunked.hpp"
#include "corsd/http/cors_stage.hpp"
#include "corsd/http/detail/eager_write.hpp"
#include "corsd/http/detail/tls_context.hpp"
#include "forwarding.hpp"
#include "upstream_connection.hpp"
#include "upstream_parser.hpp"

namespace corsd::proxy {
namespace {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using clock = http::Watched::clock;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
// For an operation co_await starts without a coroutine frame of its own.
constexpr auto deferred_tuple = net::as_tuple(net::deferred);

std::string seconds_text(std::chrono::milliseconds ms) {
  char text[32];
  std::snprintf(text, sizeof text, "%g s", static_cast<double>(ms.count()) / 1000.0);
  return text;
}

bool is_idempotent(std::string_view method) noexcept {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" || method == "DELETE";
}

// An answer of corsd's own: a failure text with the route's CORS headers.
struct Failure {
  FailureKind kind;
  std::string message;
};

unsigned status_of(FailureKind kind) noexcept {
  if (kind == FailureKind::connect_timeout || kind == FailureKind::response_timeout) return 504;
  return kind == FailureKind::upgrade ? 501 : 502;
}

// How one attempt at an exchange ended.
enum class Outcome {
  reusable,  // answered; the upstream connection may serve another exchange
  done,      // answered (or the client is gone); the connection is spent
  stale,     // a reused connection closed before any answer byte: maybe retry
};

// The request body's way to the upstream, run beside the answer's way back
// so that an upstream which answers while it reads (or before) never
// deadlocks against corsd.
struct Upload {
  explicit Upload(const net::any_io_executor& executor) : wake(executor, clock::time_point::max()) {}
  net::steady_timer wake;  // cancelled when the upload ends
  bool done = false;
  bool complete = false;        // the whole body reached the upstream
  bool client_failed = false;   // the client broke off or sent a bad body
  bool answered = false;        // the answer was complete first
  bool reading_client = false;  // waiting in read_body()
};

// Whether the client's body broke off (there is an upload, and it failed).
bool client_broke_off(const Upload* upload) noexcept { return upload != nullptr && upload->client_failed; }

class Attempt {
 public:
  Attempt(http::Exchange& exchange, UpstreamConnection& connection, const Upstream& upstream,
          const ProxySettings& settings, const cors::Decision& cors, UpstreamStats& stats)
      : ex_(exchange), c_(connection), upstream_(upstream), settings_(settings), cors_(cors), stats_(stats) {}

  net::awaitable<Outcome> run(bool peer_trusted);

 private:
  net::awaitable<void> upload(Upload& state, http::BodySlice first);
  net::awaitable<Outcome> download(Upload* upload);
  net::awaitable<bool> read_head(std::optional<UpstreamParser>& parser, Upload* upload, Outcome& outcome);
  net::awaitable<bool> relay_body(UpstreamParser& parser, const Upload* upload);
  net::awaitable<bool> write_upstream(std::span<net::const_buffer> buffers);
  net::awaitable<Outcome> fail(Failure failure);

  http::Exchange& ex_;
  UpstreamConnection& c_;
  const Upstream& upstream_;
  const ProxySettings& settings_;
  const cors::Decision& cors_;
  UpstreamStats& stats_;
  http::EagerWrites writes_;  // see write_upstream()
};

// Counts `failure` for its upstream and answers it.
net::awaitable<void> answer(http::Exchange& ex, const cors::Decision& cors, const Failure& failure,
                            UpstreamStats& stats) {
  stats.errors[static_cast<std::size_t>(failure.kind)].add();
  if (ex.head_sent()) {
    ex.abort();  // the answer has begun: the client must not take it for whole
    co_return;
  }
  http::ResponseHead head;
  head.status = status_of(failure.kind);
  head.add("Content-Type", "text/plain; charset=utf-8");
  head.add("Cache-Control", "no-store");
  http::apply_cors(cors, head);
  if (!ex.send_head(head, {http::Framing::Kind::length, failure.message.size()})) co_return;
  const std::string_view body = failure.message;
  co_await ex.send_last(std::span<const std::string_view>(&body, 1));
}

Failure failure(const Upstream& upstream, FailureKind kind, std::string_view what) {
  const unsigned status = status_of(kind);
  return {kind, std::string(status == 504   ? "gateway timeout"
                            : status == 501 ? "not implemented"
                                            : "bad gateway") +
                    ": the upstream " + upstream.url + " " + std::string(what) + "\n"};
}

// One read from the upstream, through TLS for an https:// one; `where`:
// whether the answer starts with it (drained_read.hpp). A deferred
// operation, not a coroutine: co_await starts it with no frame of its own.
auto read_some(UpstreamConnection& c, std::span<char> space, http::Read where) {
  const auto start = [](auto handler, UpstreamConnection* connection, net::mutable_buffer buffer, http::Read at) {
    if (connection->tls) {
      connection->tls->async_read_some(buffer, std::move(handler));
    } else {
      http::async_read_drained(connection->reactor, connection->socket, buffer, at, std::move(handler));
    }
  };
  return net::async_initiate<const decltype(deferred_tuple)&, void(error_code, std::size_t)>(
      start, deferred_tuple, &c, net::buffer(space.data(), space.size()), where);
}

net::awaitable<Outcome> Attempt::fail(Failure f) {
  co_await answer(ex_, cors_, f, stats_);
  co_return Outcome::done;
}

// At once while the socket takes whole writes, as it nearly always does
// (eager_write.hpp); after one found it full (a large upload), and through
// TLS, asynchronously.
net::awaitable<bool> Attempt::write_upstream(std::span<net::const_buffer> buffers) {
  c_.arm(settings_.response_timeout);
  error_code ec;
  if (c_.tls) {
    std::tie(ec, std::ignore) = co_await net::async_write(*c_.tls, buffers, use_tuple);
    co_return !ec;
  }
  const auto rest = writes_.write(c_.socket.native_handle(), buffers).rest;
  if (!rest.empty()) std::tie(ec, std::ignore) = co_await net::async_write(c_.socket, rest, use_tuple);
  co_return !ec;
}

net::awaitable<Outcome> Attempt::run(bool peer_trusted) {
  const http::Request& request = ex_.request();
  ForwardContext context;
  context.peer = ex_.peer_address();
  context.peer_trusted = peer_trusted;
  context.upstream_authority = upstream_.authority;
  context.forward_client_host = upstream_.forward_client_host;
  context.content_length = ex_.body_length();
  context.chunked = ex_.body_chunked();
  context.keep_alive = settings_.idle_connections > 0;
  c_.out.clear();
  build_upstream_request(request, context, c_.out);
  const bool has_body = context.chunked || context.content_length.value_or(0) > 0;
  if (!has_body) {
    std::array head{net::const_buffer(c_.out.data(), c_.out.size())};
    if (co_await write_upstream(head)) co_return co_await download(nullptr);
    if (c_.reused) co_return Outcome::stale;
    co_return co_await fail(failure(upstream_, FailureKind::closed, "closed the connection before answering"));
  }
  // The head goes with the first slice of the body. Nothing is in flight
  // upstream yet, so waiting here for the client cannot deadlock.
  const http::BodySlice first = co_await ex_.read_body();
  if (!first.ok) co_return Outcome::done;  // the connection answers for the client's body
  if (!context.chunked && ex_.body_done()) {
    // The whole body is in hand (most API calls): one write, no upload beside the answer.
    std::array request_bytes{net::buffer(std::string_view(c_.out)), net::buffer(first.data)};
    if (co_await write_upstream(request_bytes)) co_return co_await download(nullptr);
    co_return co_await fail(failure(upstream_, FailureKind::closed, "closed the connection before taking the request"));
  }
  Upload state(co_await net::this_coro::executor);
  net::co_spawn(state.wake.get_executor(), upload(state, first), net::detached);
  const Outcome outcome = co_await download(&state);
  if (!state.done) {
    // The answer came before the whole body: stop reading it (the client
    // connection closes after the answer) and stop sending it.
    state.answered = true;
    if (state.reading_client) ex_.stop_body();
    error_code ignored;
    c_.socket.cancel(ignored);
    while (!state.done) co_await state.wake.async_wait(use_tuple);
  }
  co_return outcome == Outcome::stale || state.complete ? outcome : Outcome::done;
}

net::awaitable<void> Attempt::upload(Upload& state, http::BodySlice slice) {
  // However it ends, run() learns it: it waits for `done`.
  struct Done {
    Upload& state;
    ~Done() {
      state.done = true;
      state.wake.cancel();
    }
  } done{state};
  const bool chunked = ex_.body_chunked();
  std::string_view head = c_.out;  // sent with the first slice (read by run()), then empty
  for (bool first = true; !state.answered; first = false) {
    if (!first) {
      state.reading_client = true;
      slice = co_await ex_.read_body();
      state.reading_client = false;
    }
    if (state.answered) break;  // the answer is complete: the rest of the body is not wanted
    if (!slice.ok) {
      state.client_failed = true;
      error_code ignored;
      c_.socket.cancel(ignored);  // the upstream must not take a truncated body for whole
      break;
    }
    const bool last = slice.data.empty();
    const bool chunk = chunked && !last;
    const http::ChunkSizeLine size_line(slice.data.size());
    std::array buffers{net::buffer(head), net::buffer(chunk ? size_line.text() : std::string_view()),
                       net::buffer(slice.data), net::buffer(chunk ? http::kChunkEnd : std::string_view()),
                       net::buffer(last && chunked ? http::kLastChunk : std::string_view())};
    head = {};
    // A failed write leaves the answer to come (an upstream may stop
    // reading to answer early); the download decides.
    if (net::buffer_size(buffers) > 0 && !co_await write_upstream(buffers)) break;
    if (last) {
      state.complete = true;
      break;
    }
  }
}

// Reads the answer head, passing 1xx answers on. False when the exchange
// ended here, with `outcome` set.
net::awaitable<bool> Attempt::read_head(std::optional<UpstreamParser>& parser, Upload* upload, Outcome& outcome) {
  const bool head_request = ex_.request().method == "HEAD";
  const bool nothing_buffered = c_.in.empty();
  bool any_byte = false;
  for (;;) {
    c_.head.clear();
    parser.emplace(c_.head);
    if (head_request) parser->skip(true);
    while (!parser->is_header_done()) {
      if (!c_.in.empty()) {
        error_code ec;
        const std::string_view data = c_.in.readable();
        const std::size_t used = parser->put(net::const_buffer(data.data(), data.size()), ec);
        c_.in.consume(used);
        if (ec && ec != bhttp::error::need_more) {
          outcome = co_await fail(
              failure(upstream_, FailureKind::malformed, "sent a malformed answer (" + ec.message() + ")"));
          co_return false;
        }
        if (parser->is_header_done()) break;
      }
      const auto space = c_.in.writable();
      if (space.empty()) {
        outcome = co_await fail(
            failure(upstream_, FailureKind::malformed, "sent a malformed answer (its head is over 64 KiB)"));
        co_return false;
      }
      // The upload may have failed while no read was pending: its
      // cancel() then found nothing to cancel.
      if (client_broke_off(upload)) {
        outcome = Outcome::done;
        co_return false;
      }
      c_.arm(settings_.response_timeout);
      const bool answer_starts = nothing_buffered && !any_byte;
      const auto [ec, n] =
          co_await read_some(c_, space, answer_starts ? http::Read::next_message : http::Read::rest_of_message);
      if (client_broke_off(upload)) {
        outcome = Outcome::done;  // the client's body broke off: the connection answers for it
        co_return false;
      }
      if (ec && c_.timed_out()) {
        outcome = co_await fail(failure(upstream_, FailureKind::response_timeout,
                                        "did not answer within " + seconds_text(settings_.response_timeout)));
        co_return false;
      }
      if (ec) {
        if (!any_byte && c_.reused && (upload == nullptr || !upload->done)) {
          outcome = Outcome::stale;
        } else {
          outcome =
              co_await fail(failure(upstream_, any_byte ? FailureKind::malformed : FailureKind::closed,
                                    any_byte ? "sent a malformed answer (it closed the connection inside the head)"
                                             : "closed the connection before answering"));
        }
        co_return false;
      }
      any_byte = true;
      c_.in.commit(n);
    }
    const unsigned status = c_.head.status;
    if (status >= 200) co_return true;
    if (status == 101) {
      outcome =
          co_await fail(failure(upstream_, FailureKind::malformed, "switched protocols, which corsd did not ask for"));
      co_return false;
    }
    prepare_client_head(c_.head);
    if (!co_await ex_.send_interim(c_.head)) {
      outcome = Outcome::done;
      co_return false;
    }
  }
}

// Streams the answer body to the client and ends it. Slices are held until
// the buffer they point into runs dry, so that what one read brought (a
// small answer: its head, its chunks and its end) goes out in one write. False when either side
// broke off (the client connection is then closed, never left with a body
// that looks whole).
net::awaitable<bool> Attempt::relay_body(UpstreamParser& parser, const Upload* upload) {
  std::array<std::string_view, http::Exchange::kMaxSlices> held;
  std::size_t count = 0;
  while (!parser.is_done()) {
    if (!c_.in.empty()) {
      parser.slice.reset();
      error_code ec;
      const std::string_view data = c_.in.readable();
      const std::size_t used = parser.put(net::const_buffer(data.data(), data.size()), ec);
      c_.in.consume(used);
      if (ec && ec != bhttp::error::need_more) co_return false;
      if (parser.slice) {
        if (count == held.size()) {
          if (!co_await ex_.send_body(std::span<const std::string_view>(held.data(), count))) co_return false;
          count = 0;
        }
        held[count++] = *parser.slice;
      }
      if (parser.is_done()) break;
      if (parser.slice || (!ec && used > 0)) continue;
    }
    // The buffer is read into next: what it holds goes first. Until the
    // client has taken it, nothing more is read: that is the back-pressure.
    if (count > 0) {
      if (!co_await ex_.send_body(std::span<const std::string_view>(held.data(), count))) co_return false;
      count = 0;
    }
    const auto space = c_.in.writable();
    if (space.empty()) co_return false;             // a chunk extension or trailer filled it: Beast does not bound them
    if (client_broke_off(upload)) co_return false;  // see read_head()
    c_.arm(settings_.response_timeout);
    const auto [ec, n] = co_await read_some(c_, space, http::Read::rest_of_message);
    if ((ec == net::error::eof || ec == net::ssl::error::stream_truncated) && parser.need_eof()) {
      error_code ignored;
      parser.put_eof(ignored);
      break;
    }
    if (ec) co_return false;
    c_.in.commit(n);
  }
  co_return co_await ex_.send_last(std::span<const std::string_view>(held.data(), count));
}

net::awaitable<Outcome> Attempt::download(Upload* upload) {
  std::optional<UpstreamParser>& parser = c_.parser;
  Outcome outcome = Outcome::done;
  if (!co_await read_head(parser, upload, outcome)) co_return outcome;
  ex_.note().upstream_answered(std::chrono::steady_clock::now());
  const unsigned status = c_.head.status;
  prepare_client_head(c_.head);
  http::apply_cors(cors_, c_.head);
  const bool head_request = ex_.request().method == "HEAD";
  const bool head_sent = ex_.send_head(c_.head, client_framing(*parser, status, head_request));
  const bool relayed = head_sent && co_await relay_body(*parser, upload);
  if (!relayed) {
    ex_.abort();
    co_return Outcome::done;
  }
  c_.disarm();
  co_return parser->keep_alive() && c_.in.empty() ? Outcome::reusable : Outcome::done;
}

// TLS with an https:// upstream, within the connect timeout: SNI with its
// name, and its certificate verified for that name (or IP address).
net::awaitable<std::optional<Failure>> handshake(UpstreamConnection& c, const Upstream& upstream,
                                                 const ProxySettings& settings) {
  c.tls.emplace(c.socket, *upstream.tls->impl().context);
  http::expect_server_name(c.tls->native_handle(), upstream.host);
  c.arm(settings.connect_timeout);
  auto [handshake_error] = co_await c.tls->async_handshake(net::ssl::stream_base::client, use_tuple);
  const bool timed_out = c.timed_out();
  c.disarm();
  if (!handshake_error) co_return std::nullopt;
  if (timed_out) {
    co_return failure(upstream, FailureKind::connect_timeout,
                      "did not finish the TLS handshake within " + seconds_text(settings.connect_timeout));
  }
  const std::string why = http::handshake_failure(c.tls->native_handle(), handshake_error.message());
  co_return failure(upstream, FailureKind::tls, "failed the TLS handshake (" + why + ")");
}

// Connects `c` to one of the upstream's addresses within the connect
// timeout, or says why not.
net::awaitable<std::optional<Failure>> connect(UpstreamConnection& c, const Upstream& upstream,
                                               const ProxySettings& settings) {
  c.arm(settings.connect_timeout);
  auto [ec, endpoint] = co_await net::async_connect(c.socket, endpoints_of(upstream), use_tuple);
  const bool timed_out = c.timed_out();
  c.disarm();
  if (!ec) {
    error_code ignored;
    c.socket.set_option(tcp::no_delay(true), ignored);
    http::report_queued_bytes(c.socket.native_handle());  // for async_read_drained()
    if (upstream.https) co_return co_await handshake(c, upstream, settings);
    co_return std::nullopt;
  }
  if (timed_out) {
    co_return failure(upstream, FailureKind::connect_timeout,
                      "did not accept the connection within " + seconds_text(settings.connect_timeout));
  }
  if (ec == net::error::connection_refused) co_return failure(upstream, FailureKind::refused, "refused the connection");
  co_return failure(upstream, FailureKind::unreachable, "could not be reached (" + ec.message() + ")");
}

bool trusted(const ProxySettings& settings, std::string_view peer) {
  return std::find(settings.trusted_proxies.begin(), settings.trusted_proxies.end(), peer) !=
         settings.trusted_proxies.end();
}

}  // namespace

class Proxy::Pools {
 public:
  explicit Pools(http::WorkerContext& worker) : idle(worker) {}
  UpstreamStatsTable stats;  // before the pool, which keeps pointers to its entries for their idle gauges
  UpstreamPool idle;
};

std::string_view failure_name(FailureKind e) noexcept {
  switch (e) {
    case FailureKind::refused: return "refused";
    case FailureKind::unreachable: return "unreachable";
    case FailureKind::connect_timeout: return "connect_timeout";
    case FailureKind::response_timeout: return "response_timeout";
    case FailureKind::malformed: return "malformed";
    case FailureKind::closed: return "closed";
    case FailureKind::upgrade: return "upgrade";
    case FailureKind::tls: return "tls";
  }
  return "unknown";
}

const UpstreamStatsTable& Proxy::stats() const noexcept { return pools_->stats; }

std::vector<tcp::endpoint> endpoints_of(const Upstream& upstream) {
  std::vector<tcp::endpoint> endpoints;
  for (const auto& address : upstream.addresses) {
    error_code ec;
    const auto ip = net::ip::make_address(address, ec);
    if (!ec) endpoints.emplace_back(ip, upstream.port);
  }
  return endpoints;
}

Proxy::Proxy(http::WorkerContext& worker) : worker_(worker), pools_(std::make_unique<Pools>(worker)) {}
Proxy::~Proxy() = default;

net::awaitable<void> Proxy::forward(http::Exchange& exchange, const Upstream& upstream, const ProxySettings& settings,
                                    const cors::Decision& cors) {
  const http::Request& request = exchange.request();
  UpstreamStats& stats = pools_->stats.slot(upstream.authority);
  stats.requests.add();
  exchange.note().set_upstream(upstream.authority, std::chrono::steady_clock::now());
  if (request.find("upgrade")) {
    co_await answer(exchange, cors,
                    failure(upstream, FailureKind::upgrade,
                            "is not reached for protocol upgrades (WebSocket): corsd does not forward them yet"),
                    stats);
    co_return;
  }
  const bool peer_trusted = !settings.trusted_proxies.empty() && trusted(settings, exchange.peer_address());
  const bool has_body = exchange.body_chunked() || exchange.body_length().value_or(0) > 0;
  // A reused connection the upstream closed meanwhile gets the request once
  // more on a new one, when repeating it is harmless and possible.
  const bool retryable = is_idempotent(request.method) && !has_body;
  for (int attempt = 0;; ++attempt) {
    // The retry goes on a new connection: the other idle ones may be as dead.
    auto connection = attempt == 0 ? pools_->idle.take(upstream.url, stats) : nullptr;
    if (!connection) {
      connection = pools_->idle.make();
      if (auto f = co_await connect(*connection, upstream, settings)) {
        pools_->idle.discard(std::move(connection));
        co_await answer(exchange, cors, *f, stats);
        co_return;
      }
    }
    Attempt exchange_once(exchange, *connection, upstream, settings, cors, stats);
    const Outcome outcome = co_await exchange_once.run(peer_trusted);
    if (outcome == Outcome::reusable && settings.idle_connections > 0) {
      pools_->idle.give_back(upstream.url, stats, std::move(connection), settings.idle_connections,
                             settings.idle_timeout);
    } else {
      pools_->idle.discard(std::move(connection));
    }
    if (outcome != Outcome::stale) co_return;
    if (attempt > 0 || !retryable) {
      co_await answer(exchange, cors, failure(upstream, FailureKind::closed, "closed the connection before answering"),
                      stats);
      co_return;
    }
  }
}

}  // namespace corsd::proxy
