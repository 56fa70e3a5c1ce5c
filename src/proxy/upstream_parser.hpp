#pragma once
// The upstream's answer, parsed with Beast's basic_parser: status and fields
// copied into a ResponseHead, body handed out one slice per step, straight
// from the upstream connection's input buffer. Answers Beast refuses (both
// Content-Length and Transfer-Encoding, differing lengths, bad framing) are
// errors here, never forwarded.

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <optional>
#include <string_view>

#include "corsd/http/response_head.hpp"

namespace corsd::proxy {

class UpstreamParser final : public boost::beast::http::basic_parser<false> {
 public:
  // The longest answer head accepted from an upstream.
  static constexpr std::size_t kHeaderLimit = 64 * 1024;

  explicit UpstreamParser(http::ResponseHead& head);

  // The body bytes of the last put(), if it reached any.
  std::optional<std::string_view> slice;

 private:
  using string_view = boost::beast::string_view;
  using error_code = boost::beast::error_code;

  void on_request_impl(boost::beast::http::verb, string_view, string_view, int, error_code& ec) override;
  void on_response_impl(int status, string_view reason, int version, error_code& ec) override;
  void on_field_impl(boost::beast::http::field, string_view name, string_view value, error_code& ec) override;
  void on_header_impl(error_code& ec) override;
  void on_body_init_impl(boost::optional<std::uint64_t> const&, error_code&) override {}
  std::size_t on_body_impl(string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override;
  void on_finish_impl(error_code&) override {}

  http::ResponseHead& head_;
  bool transfer_encoding_ = false;
};

}  // namespace corsd::proxy
