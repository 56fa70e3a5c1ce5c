// Fuzzes what an upstream can send back: any bytes through the proxy's
// answer parser, fed in pieces whose sizes the input chooses, then the head
// corsd would send the client (hop-by-hop fields stripped, the policy's CORS
// put on, corsd's own framing). Whatever the upstream sent, that head must
// be one well-formed HTTP/1.1 head: no line break inside a field, no
// Access-Control-* field but the policy's, at most one framing field, and a
// body no longer than the Content-Length it states.

#include <boost/asio/buffer.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "corsd/cors/decision.hpp"
#include "corsd/http/cors_stage.hpp"
#include "forwarding.hpp"
#include "require.hpp"
#include "upstream_parser.hpp"

namespace {

using corsd::fuzz::require;

bool equals_ci(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char c = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (c != b[i]) return false;
  }
  return true;
}

// RFC 9110 §7.6.1 and §11.7: fields of one connection or hop, never passed on.
bool per_hop(std::string_view name) {
  for (const std::string_view f : {"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
                                   "proxy-authenticate", "proxy-authorization"}) {
    if (equals_ci(name, f)) return true;
  }
  return false;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    const char c = s[i] >= 'A' && s[i] <= 'Z' ? static_cast<char>(s[i] - 'A' + 'a') : s[i];
    if (c != prefix[i]) return false;
  }
  return true;
}

// Checks the serialized head line by line.
void check_client_head(std::string_view out) {
  const std::size_t end = out.find("\r\n\r\n");
  require(end != std::string_view::npos);
  std::string_view lines = out.substr(0, end + 2);
  require(lines.rfind("HTTP/1.1 ", 0) == 0);
  int framing = 0;
  int acao = 0;
  int connection = 0;
  bool first = true;
  while (!lines.empty()) {
    const std::size_t eol = lines.find("\r\n");
    require(eol != std::string_view::npos);
    const std::string_view line = lines.substr(0, eol);
    lines.remove_prefix(eol + 2);
    require(line.find('\r') == std::string_view::npos && line.find('\n') == std::string_view::npos);
    if (first) {
      first = false;
      continue;
    }
    const std::size_t colon = line.find(':');
    require(colon != std::string_view::npos && colon > 0);
    const std::string_view name = line.substr(0, colon);
    if (equals_ci(name, "content-length") || equals_ci(name, "transfer-encoding")) ++framing;
    if (equals_ci(name, "access-control-allow-origin")) ++acao;
    require(!starts_with_ci(name, "access-control-") || equals_ci(name, "access-control-allow-origin"));
    // corsd writes its own Connection field after the others (close or keep-alive); an upstream's never passes.
    require(!per_hop(name) || (equals_ci(name, "connection") && connection++ == 0));
  }
  require(framing <= 1);
  require(acao == 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t piece = 1 + data[0] % 64;  // how the bytes arrive: 1 to 64 at a time
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);

  corsd::http::ResponseHead head;
  corsd::proxy::UpstreamParser parser(head);
  boost::beast::error_code ec;
  std::uint64_t body = 0;
  std::string buffered;  // what the connection holds: unparsed bytes stay
  while (!ec && !parser.is_done() && (!rest.empty() || !buffered.empty())) {
    const std::size_t take = std::min(piece, rest.size());
    buffered.append(rest.substr(0, take));
    rest.remove_prefix(take);
    parser.slice.reset();
    const std::size_t used = parser.put(boost::asio::const_buffer(buffered.data(), buffered.size()), ec);
    if (ec == boost::beast::http::error::need_more) ec = {};
    if (parser.slice) body += parser.slice->size();
    buffered.erase(0, used);
    if (used == 0 && take == 0) break;  // nothing more will come
  }
  if (!parser.is_header_done()) return 0;  // corsd answers 502: nothing of the upstream's reaches the client
  if (const auto length = parser.content_length(); length && !ec) require(body <= *length);

  corsd::proxy::prepare_client_head(head);
  corsd::cors::Decision decision;
  decision.kind = corsd::cors::DecisionKind::actual_allowed;
  decision.headers.push_back("Access-Control-Allow-Origin", "https://app.test");
  decision.vary = "Origin";
  corsd::http::apply_cors(decision, head);
  const corsd::http::Framing framing = corsd::proxy::client_framing(parser, head.status, /*head_request=*/false);
  std::string out;
  corsd::http::serialize_head(head, {"Wed, 25 Nov 2026 13:00:00 GMT", false, true, 11}, framing, out);
  check_client_head(out);
  return 0;
}
