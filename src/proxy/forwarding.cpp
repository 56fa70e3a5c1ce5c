#include "forwarding.hpp"

#include <array>
#include <charconv>
#include <span>

#include "corsd/cors/detail/token.hpp"

namespace corsd::proxy {

using namespace std::string_view_literals;  // append("...") would count the literal with strlen()
namespace {

constexpr std::string_view kVia = "1.1 corsd";

using cors::ascii_iequals;

// Whether a Connection value names any field besides the hop-by-hop ones,
// which go whatever it says. It nearly always names "keep-alive" alone:
// then no field needs to be looked up in it.
bool names_more_than_hop_by_hop(std::string_view value) noexcept {
  cors::ListCursor cursor(std::span<const std::string_view>(&value, 1));
  std::string_view token;
  while (cursor.next(token)) {
    if (!is_hop_by_hop(token)) return true;
  }
  return false;
}

bool connection_names_fields(const http::Request& request) noexcept {
  for (const auto& f : request.fields) {
    if (ascii_iequals(f.name, "connection") && names_more_than_hop_by_hop(f.value)) return true;
  }
  return false;
}

// Whether a Connection field of `request` names `name`.
bool named_by_connection(const http::Request& request, std::string_view name) noexcept {
  for (const auto& f : request.fields) {
    if (ascii_iequals(f.name, "connection") && cors::list_contains(f.value, name)) return true;
  }
  return false;
}

// The fields corsd writes to say what it forwarded, replacing the client's.
constexpr std::array<std::string_view, 4> kForwardingFields = {"via", "x-forwarded-for", "x-forwarded-proto",
                                                               "x-forwarded-host"};

// Whether `name` is a spelling of one of kForwardingFields with "_" for "-"
// ("X_Forwarded_For"): CGI, WSGI, Rack and PHP read both as
// HTTP_X_FORWARDED_FOR, so the client's claim would reach the application
// beside corsd's. Dropped, as nginx drops names with underscores.
bool underscore_spelling(std::string_view name) noexcept {
  if (name.find('_') == std::string_view::npos) return false;
  for (std::string_view field : kForwardingFields) {
    if (name.size() != field.size()) continue;
    std::size_t i = 0;
    while (i < name.size() && (name[i] == '_' ? '-' : cors::detail::lower(name[i])) == field[i]) ++i;
    if (i == name.size()) return true;
  }
  return false;
}

bool is_forwarding_claim(std::string_view name) noexcept {
  return ascii_iequals(name, "x-forwarded-for") || ascii_iequals(name, "x-forwarded-proto") ||
         ascii_iequals(name, "x-forwarded-host") || ascii_iequals(name, "forwarded");
}

// Fields corsd writes itself after the client's.
bool written_by_corsd(std::string_view name) noexcept {
  if (ascii_iequals(name, "host") || ascii_iequals(name, "content-length") || ascii_iequals(name, "expect"))
    return true;
  for (std::string_view field : kForwardingFields) {
    if (ascii_iequals(name, field)) return true;
  }
  return false;
}

// Every value of the fields named `name`, joined as one list.
void append_joined(std::string& out, const http::Request& request, std::string_view name) {
  bool first = true;
  for (const auto& f : request.fields) {
    if (!ascii_iequals(f.name, name)) continue;
    if (!first) out.append(", "sv);
    out.append(f.value);
    first = false;
  }
}

void append_forwarding(const http::Request& request, const ForwardContext& context, std::string& out) {
  const std::string_view host = request.find("host").value_or("");
  out.append("Via: "sv);
  if (request.count("via") > 0) {
    append_joined(out, request, "via");
    out.append(", "sv);
  }
  out.append(kVia);
  out.append("\r\n"sv);
  out.append("X-Forwarded-For: "sv);
  if (context.peer_trusted && request.count("x-forwarded-for") > 0) {
    append_joined(out, request, "x-forwarded-for");
    out.append(", "sv);
  }
  out.append(context.peer);
  out.append("\r\n"sv);
  const auto proto = context.peer_trusted ? request.find("x-forwarded-proto") : std::nullopt;
  http::append_field(out, "X-Forwarded-Proto", proto.value_or(request.tls ? "https" : "http"));
  const auto forwarded_host = context.peer_trusted ? request.find("x-forwarded-host") : std::nullopt;
  if (forwarded_host || !host.empty()) http::append_field(out, "X-Forwarded-Host", forwarded_host.value_or(host));
}

void append_framing(const http::Request& request, const ForwardContext& context, std::string& out) {
  if (context.chunked) {
    out.append("Transfer-Encoding: chunked\r\n"sv);
    return;
  }
  // A POST, PUT or PATCH without a body still says so: some servers wait
  // for a length otherwise (RFC 9110 §8.6).
  const bool expects_body = request.method == "POST" || request.method == "PUT" || request.method == "PATCH";
  if (!context.content_length && !expects_body) return;
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, context.content_length.value_or(0)).ptr;
  http::append_field(out, "Content-Length", std::string_view(digits, static_cast<std::size_t>(end - digits)));
}

}  // namespace

bool is_hop_by_hop(std::string_view name) noexcept {
  return ascii_iequals(name, "connection") || ascii_iequals(name, "keep-alive") ||
         ascii_iequals(name, "proxy-connection") || ascii_iequals(name, "te") || ascii_iequals(name, "trailer") ||
         ascii_iequals(name, "transfer-encoding") || ascii_iequals(name, "upgrade") ||
         ascii_iequals(name, "proxy-authorization") || ascii_iequals(name, "proxy-authenticate");
}

void build_upstream_request(const http::Request& request, const ForwardContext& context, std::string& out) {
  out.append(request.method);
  out.push_back(' ');
  out.append(request.path);
  out.append(request.query);
  out.append(" HTTP/1.1\r\n"sv);
  const std::string_view host = request.find("host").value_or(context.upstream_authority);
  http::append_field(out, "Host", context.forward_client_host ? host : context.upstream_authority);
  const bool names_fields = connection_names_fields(request);
  for (const auto& f : request.fields) {
    if (is_hop_by_hop(f.name) || written_by_corsd(f.name) || underscore_spelling(f.name) ||
        (names_fields && named_by_connection(request, f.name))) {
      continue;
    }
    if (!context.peer_trusted && is_forwarding_claim(f.name)) continue;
    http::append_field(out, f.name, f.value);
  }
  append_forwarding(request, context, out);
  append_framing(request, context, out);
  if (!context.keep_alive) out.append("Connection: close\r\n"sv);
  out.append("\r\n"sv);
}

void prepare_client_head(http::ResponseHead& head) {
  // The tokens the upstream's Connection names, kept before the field goes.
  std::string named;
  for (std::size_t i = 0; i < head.size(); ++i) {
    if (!ascii_iequals(head[i].name, "connection") || !names_more_than_hop_by_hop(head[i].value)) continue;
    if (!named.empty()) named.push_back(',');
    named.append(head[i].value);
  }
  head.remove_if([&named](std::string_view name) {
    return is_hop_by_hop(name) || ascii_iequals(name, "content-length") ||
           (!named.empty() && cors::list_contains(named, name));
  });
  head.add("Via", kVia);
}

http::Framing client_framing(const UpstreamParser& parser, unsigned status, bool head_request) {
  if (http::status_has_no_body(status)) return {http::Framing::Kind::none, 0};
  if (const auto length = parser.content_length()) return {http::Framing::Kind::length, *length};
  if (head_request) return {http::Framing::Kind::none, 0};
  return {http::Framing::Kind::chunked, 0};  // chunked or until close upstream; close for HTTP/1.0 clients
}

}  // namespace corsd::proxy
