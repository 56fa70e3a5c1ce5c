#pragma once
// The heads a proxy rewrites (RFC 9110 §7.6): the request that goes to the
// upstream and the response that goes back to the client. Pure functions
// over heads, so every rule is tested without sockets.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "corsd/http/request.hpp"
#include "corsd/http/response_head.hpp"
#include "upstream_parser.hpp"

namespace corsd::proxy {

// What the upstream request needs besides the client's head.
struct ForwardContext {
  std::string_view peer;                // the client's address
  bool peer_trusted = false;            // its X-Forwarded-* are kept and appended to
  std::string_view upstream_authority;  // Host when not forwarding the client's
  bool forward_client_host = true;
  std::optional<std::uint64_t> content_length;  // the client's body: a length,
  bool chunked = false;                         // chunked, or neither (no body)
  bool keep_alive = true;                       // ask the upstream to keep the connection
};

// is_hop_by_hop()
//
// Fields that describe one connection and never cross a proxy (RFC 9110
// §7.6.1), whichever direction.
bool is_hop_by_hop(std::string_view name) noexcept;

// build_upstream_request()
//
// Appends to `out` the request head for the upstream: the normalized path
// and query; the client's fields less hop-by-hop ones, those its Connection
// names, Host, Expect, Via, framing, and (unless the peer is trusted)
// X-Forwarded-* and Forwarded; then Host, Via, X-Forwarded-For, -Proto and
// -Host, written by corsd after the stripping so that a client cannot name
// them away; and exactly one framing.
void build_upstream_request(const http::Request& request, const ForwardContext& context, std::string& out);

// prepare_client_head()
//
// Turns the upstream's answer head into the client's: hop-by-hop fields
// and those its Connection names go, as do Content-Length and
// Transfer-Encoding (the client's framing is corsd's), and Via is added.
void prepare_client_head(http::ResponseHead& head);

// client_framing()
//
// How the client's answer is delimited, given the upstream's (`parser`
// has its head): no body for 1xx/204/304, the upstream's Content-Length, no
// body for a HEAD answer without one, else chunked (the connection layer
// turns that into close-delimited for HTTP/1.0 clients).
http::Framing client_framing(const UpstreamParser& parser, unsigned status, bool head_request);

}  // namespace corsd::proxy
