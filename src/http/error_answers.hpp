#pragma once
// The answers the http layer gives of its own, the same on HTTP/1.1 and
// HTTP/2: what is wrong, in words, and the status that says it.

#include <string_view>

#include "corsd/cors/decision.hpp"
#include "corsd/http/handler.hpp"
#include "corsd/http/response.hpp"
#include "request_parser.hpp"

namespace corsd::http {

struct ErrorAnswer {
  unsigned status;
  std::string_view message;
};

inline constexpr ErrorAnswer kFieldsTooLarge{
    431,
    "request header fields too large: the header block, a chunk extension or the trailers are over the "
    "server's limit\n"};
inline constexpr ErrorAnswer kBodyTooLarge{413, "request body too large: it is over the server's limit\n"};
inline constexpr ErrorAnswer kBadTarget{
    400,
    "bad request: the target is not \"/path\", \"http://host/path\" or (for OPTIONS) \"*\"; or its path climbs "
    "above \"/\", has a malformed percent-encoding, or holds a backslash, an encoded slash or a dot segment "
    "with parameters, which servers resolve differently\n"};
inline constexpr ErrorAnswer kBadHost{400, "bad request: the Host (or :authority) is missing or not HOST[:PORT]\n"};

inline constexpr std::string_view kAllowedMethods = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

// refused_method()
//
// CONNECT, TRACE or TRACK, if `method` is one: methods corsd never serves.
std::string_view refused_method(std::string_view method) noexcept;

// answer_refused_method()
//
// CONNECT: 501 (corsd is no forward proxy, and never answers it with a
// 2xx); TRACE and TRACK: 405 with Allow (they would reflect cookies and
// credentials).
void answer_refused_method(Response& response, std::string_view method);

// use_route_cors()
//
// Gives `response`, an answer of the http layer's own to a request whose
// head is in `storage`, the CORS of its route (`handler`'s say), kept in
// `decision` until it is sent: a browser then shows the status rather than
// a CORS error. Never for a target that did not normalize: its raw path
// could name another route than the one it would reach.
void use_route_cors(Handler& handler, const RequestStorage& storage, Response& response, cors::Decision& decision);

// answer_server_options()
//
// "OPTIONS *" asks about the server, not a resource (RFC 9110 §9.3.7):
// 200, the methods it serves in Allow, no body. No route and no handler
// sees it.
void answer_server_options(Response& response);

// answer_error()
//
// `e` as a plain-text answer.
void answer_error(Response& response, const ErrorAnswer& e);

}  // namespace corsd::http
