#include "upstream_parser.hpp"

namespace corsd::proxy {
namespace {

namespace bhttp = boost::beast::http;

std::string_view std_view(boost::beast::string_view s) noexcept { return {s.data(), s.size()}; }

}  // namespace

UpstreamParser::UpstreamParser(http::ResponseHead& head) : head_(head) {
  header_limit(static_cast<std::uint32_t>(kHeaderLimit));
  body_limit(boost::none);  // bodies stream through; their size is the upstream's business
  eager(false);             // one slice per put(), so each is forwarded before the next is parsed
}

void UpstreamParser::on_request_impl(bhttp::verb, string_view, string_view, int, error_code& ec) {
  ec = bhttp::error::bad_method;
}

void UpstreamParser::on_response_impl(int status, string_view, int version, error_code& ec) {
  if (version != 10 && version != 11) {
    ec = bhttp::error::bad_version;
    return;
  }
  head_.status = static_cast<unsigned>(status);
}

void UpstreamParser::on_field_impl(bhttp::field name, string_view name_string, string_view value, error_code&) {
  // Trailer fields of a chunked body arrive after the head was sent: dropped.
  if (is_header_done()) return;
  if (name == bhttp::field::transfer_encoding) transfer_encoding_ = true;
  head_.add(std_view(name_string), std_view(value));
}

void UpstreamParser::on_header_impl(error_code& ec) {
  // A Transfer-Encoding that does not end in chunked would leave the
  // client a body coded in a way it was never told about.
  if (transfer_encoding_ && !chunked()) ec = bhttp::error::bad_transfer_encoding;
}

std::size_t UpstreamParser::on_body_impl(string_view body, error_code&) {
  slice = std_view(body);
  return body.size();
}

std::size_t UpstreamParser::on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) {
  return on_body_impl(body, ec);
}

}  // namespace corsd::proxy
