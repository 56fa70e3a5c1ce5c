#include "corsd/http/client.hpp"

#include <openssl/ssl.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

#include "corsd/http/detail/tls_context.hpp"
#include "net.hpp"

namespace corsd::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using Result = std::variant<ClientResponse, ClientError>;

struct Url {
  bool tls = false;
  std::string host;  // without brackets
  std::string port;
  std::string authority;  // as the Host field writes it
  std::string target;     // path and query
};

std::optional<Url> parse_url(std::string_view url) {
  Url u;
  if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else if (url.starts_with("https://")) {
    url.remove_prefix(8);
    u.tls = true;
  } else {
    return std::nullopt;
  }
  const std::size_t path = url.find_first_of("/?#");
  u.authority = std::string(url.substr(0, path));
  u.target = path == std::string_view::npos ? "/" : std::string(url.substr(path));
  if (const std::size_t hash = u.target.find('#'); hash != std::string::npos) u.target.resize(hash);
  if (u.target.empty() || u.target.front() == '?') u.target.insert(0, "/");
  std::string_view authority = u.authority;
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  std::string_view port;
  if (authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    u.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return std::nullopt;
      port = authority.substr(close + 2);
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (u.host.empty()) return std::nullopt;
  u.port = port.empty() ? (u.tls ? "443" : "80") : std::string(port);
  return u;
}

std::string where(const Url& u) { return u.authority; }

template <typename Stream>
net::awaitable<Result> exchange(Stream& stream, const ClientRequest& r, const Url& u, std::string peer) {
  bhttp::request<bhttp::empty_body> request;
  request.method_string(r.method);
  request.target(u.target);
  request.version(11);
  request.set(bhttp::field::host, u.authority);
  for (const auto& [name, value] : r.headers) request.insert(name, value);
  auto [write_error, written] = co_await bhttp::async_write(stream, request, use_tuple);
  if (write_error) co_return ClientError{"sending the request to " + where(u) + " failed: " + write_error.message()};

  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.header_limit(64 * 1024);
  parser.body_limit(kMaxBody);
  parser.skip(r.method == "HEAD");
  auto [head_error, head_bytes] = co_await bhttp::async_read_header(stream, buffer, parser, use_tuple);
  if (head_error == beast::error::timeout) co_return ClientError{"no answer from " + where(u) + " in time"};
  if (head_error) co_return ClientError{"no valid HTTP answer from " + where(u) + ": " + head_error.message()};
  if (!parser.is_done()) {
    // The body is for show only; a long or broken one still leaves a head to judge.
    [[maybe_unused]] auto [body_error, body_bytes] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
  }
  ClientResponse response;
  const auto& message = parser.get();
  response.status = message.result_int();
  response.reason = std::string(message.reason());
  for (const auto& field : message) response.headers.emplace_back(field.name_string(), field.value());
  response.body = message.body();
  response.peer = std::move(peer);
  co_return response;
}

std::string endpoint_text(const tcp::endpoint& e) {
  const std::string address = e.address().to_string();
  return (e.address().is_v6() ? "[" + address + "]" : address) + ":" + std::to_string(e.port());
}

net::awaitable<Result> run(const ClientRequest& r, const Url& u) {
  const auto executor = co_await net::this_coro::executor;
  const auto deadline = std::chrono::steady_clock::now() + r.timeout;
  tcp::resolver resolver(executor);
  auto [resolve_error, endpoints] = co_await resolver.async_resolve(u.host, u.port, use_tuple);
  if (resolve_error) co_return ClientError{"cannot resolve " + u.host + ": " + resolve_error.message()};

  beast::tcp_stream tcp_stream(executor);
  tcp_stream.expires_at(deadline);
  auto [connect_error, endpoint] = co_await tcp_stream.async_connect(endpoints, use_tuple);
  if (connect_error == beast::error::timeout) co_return ClientError{"cannot connect to " + where(u) + ": timed out"};
  if (connect_error) co_return ClientError{"cannot connect to " + where(u) + ": " + connect_error.message()};
  const std::string peer = endpoint_text(endpoint);
  if (!u.tls) co_return co_await exchange(tcp_stream, r, u, peer);

  net::ssl::context context(net::ssl::context::tls_client);
  context.set_default_verify_paths();
  context.set_verify_mode(r.insecure ? net::ssl::verify_none : net::ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> tls(std::move(tcp_stream), context);
  expect_server_name(tls.native_handle(), u.host);
  auto [handshake_error] = co_await tls.async_handshake(net::ssl::stream_base::client, use_tuple);
  if (handshake_error) {
    const std::string why = handshake_failure(tls.native_handle(), handshake_error.message());
    co_return ClientError{"TLS with " + where(u) + " failed: " + why +
                          (r.insecure ? "" : " (--insecure accepts any certificate, for a test server)")};
  }
  co_return co_await exchange(tls, r, u, peer);
}

}  // namespace

std::variant<ClientResponse, ClientError> fetch(const ClientRequest& request) {
  const std::optional<Url> url = parse_url(request.url);
  if (!url) return ClientError{"\"" + request.url + "\" is not an http:// or https:// URL"};
  net::io_context io;
  Result result = ClientError{"no answer"};
  net::co_spawn(io, run(request, *url), [&result](std::exception_ptr e, Result r) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        result = ClientError{x.what()};
      }
      return;
    }
    result = std::move(r);
  });
  io.run();
  return result;
}

}  // namespace corsd::http
