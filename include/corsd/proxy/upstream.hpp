#pragma once
// File: corsd/proxy/upstream.hpp
//
// Where a route's requests go, and the settings every upstream shares. An
// upstream is an origin (scheme, host, port) with no path: the request's
// own normalized path is what it gets.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "corsd/http/tls.hpp"

namespace corsd::proxy {

struct Upstream {
  std::string url;   // as configured, "http://127.0.0.1:5000", for messages
  std::string host;  // "127.0.0.1", "localhost", "::1"
  std::uint16_t port = 80;
  bool https = false;  // an https:// URL: TLS, its certificate verified for `host`
  // For https: what the connections trust and show (ProxySettings::upstream_tls, loaded).
  std::shared_ptr<const http::TlsClientCredentials> tls;
  std::string authority;  // "127.0.0.1:5000": the Host an upstream-host route sends
  // Forward the Host the client sent (the default), or send `authority`.
  bool forward_client_host = true;
  // Filled by resolve(): the addresses to connect to, in order.
  std::vector<std::string> addresses;
};

struct UpstreamError {
  std::string rule;
  std::string fix;
};

// parse_upstream()
//
// Reads "http://HOST[:PORT]" or "https://HOST[:PORT]" (a trailing "/"
// allowed). Refuses other schemes, user info, paths, queries and
// fragments, each with a fix.
std::variant<Upstream, UpstreamError> parse_upstream(std::string_view url);

// resolve()
//
// Looks up `upstream.host` once, at start (as nginx does): an IP literal
// as it is, a name through the system's resolver. Returns an error message
// or "".
std::string resolve(Upstream& upstream);

// Settings shared by every upstream of a server.
struct ProxySettings {
  std::chrono::milliseconds connect_timeout{5'000};
  // Longest silence of the upstream while corsd waits for its answer head
  // or the next bytes of its body (or while it takes the request body).
  std::chrono::milliseconds response_timeout{60'000};
  // Idle pooled connections older than this are closed, not reused; below
  // the keep-alive timeout of common servers (Node.js: 5 s).
  std::chrono::milliseconds idle_timeout{4'000};
  // Idle connections kept per worker thread and upstream; 0: no reuse. An
  // idle connection holds a socket and no buffer; fewer than the requests
  // in flight at busy times means connecting anew all the time.
  std::size_t idle_connections = 64;
  // Peers whose X-Forwarded-* fields are believed and appended to.
  std::vector<std::string> trusted_proxies;
  // What https:// upstreams are verified against, and the client
  // certificate shown to those that ask.
  http::TlsClientConfig upstream_tls;
};

// parse_address()
//
// The canonical text of an IP address ("::1", "127.0.0.1"), or "" when
// `text` is not one.
std::string parse_address(std::string_view text);

}  // namespace corsd::proxy
