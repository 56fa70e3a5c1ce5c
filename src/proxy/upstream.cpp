#include "corsd/proxy/upstream.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <charconv>

namespace corsd::proxy {

std::variant<Upstream, UpstreamError> parse_upstream(std::string_view url) {
  const std::string example = "write it like \"http://127.0.0.1:5000\" or \"https://api.example.com\"";
  const bool https = url.starts_with("https://");
  if (!https && !url.starts_with("http://")) {
    return UpstreamError{"upstream \"" + std::string(url) + "\" is not an http:// or https:// URL", example};
  }
  std::string_view rest = url.substr(https ? 8 : 7);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find_first_of("/?#") != std::string_view::npos) {
    return UpstreamError{
        "upstream \"" + std::string(url) + "\" has a path, query or fragment: requests keep their own path",
        "give the origin alone, e.g. \"http://127.0.0.1:5000\""};
  }
  if (rest.find('@') != std::string_view::npos) {
    return UpstreamError{"upstream \"" + std::string(url) + "\" has user info", "remove the \"user@\" part"};
  }
  Upstream u;
  u.url = std::string(url);
  u.https = https;
  u.port = https ? 443 : 80;
  std::string_view host = rest, port;
  if (!rest.empty() && rest.front() == '[') {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos)
      return UpstreamError{"upstream \"" + std::string(url) + "\": unclosed \"[\"", example};
    host = rest.substr(1, close - 1);
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty() && after.front() != ':')
      return UpstreamError{"upstream \"" + std::string(url) + "\" is malformed", example};
    if (!after.empty()) port = after.substr(1);
  } else if (const std::size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return UpstreamError{"upstream \"" + std::string(url) + "\" has no host", example};
  if (!port.empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
      return UpstreamError{"upstream \"" + std::string(url) + "\" has an invalid port", example};
    }
    u.port = static_cast<std::uint16_t>(value);
  }
  u.host = std::string(host);
  u.authority = std::string(rest);
  return u;
}

std::string resolve(Upstream& upstream) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver(io);
  boost::system::error_code ec;
  const auto results = resolver.resolve(upstream.host, std::to_string(upstream.port),
                                        boost::asio::ip::tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) return "cannot resolve the upstream host \"" + upstream.host + "\": " + ec.message();
  upstream.addresses.clear();
  for (const auto& entry : results) upstream.addresses.push_back(entry.endpoint().address().to_string());
  return {};
}

std::string parse_address(std::string_view text) {
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(std::string(text), ec);
  return ec ? std::string() : address.to_string();
}

}  // namespace corsd::proxy
