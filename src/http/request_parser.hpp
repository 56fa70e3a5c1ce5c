#pragma once
// The request parser: Beast's basic_parser with callbacks that copy the
// request line and fields into per-connection storage (reused from request
// to request, so parsing allocates nothing once it has warmed up). The body
// either goes into a reused string (buffered requests) or, once the handler
// streams, is handed out one slice at a time, straight from the input buffer.

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "corsd/http/limits.hpp"
#include "corsd/http/request.hpp"
#include "corsd/http/target.hpp"

namespace corsd::http {

// read_later_minor_as_http11()
//
// When `data` starts with a complete request line ending in one of
// "HTTP/1.2" to "HTTP/1.9", rewrites that version to "HTTP/1.1" in place
// (RFC 9110 §2.5); leaves everything else as it is.
void read_later_minor_as_http11(std::span<char> data) noexcept;

// What the parser fills; reused from request to request.
class RequestStorage {
 public:
  // The head store and the field list are reserved at the limits now.
  explicit RequestStorage(const Limits& limits);

  // Empties it for the next request; a large body's buffer is given back.
  void clear() noexcept;
  // The bytes its buffers hold.
  std::size_t capacity() const noexcept;
  Request view() const noexcept;

  // Copies `s` into the head store; false when the header limit would be passed.
  bool store(std::string_view s, std::string_view& out) noexcept;

  // Normalizes the target (see target.hpp) into `normalized`.
  void normalize();

  std::string_view method;
  std::string_view target;
  Target normalized;  // path and query, or why the target is refused
  unsigned version = 11;
  std::vector<Field> fields;
  std::string body;
  bool expect_continue = false;
  bool transfer_encoding = false;  // a Transfer-Encoding field was sent
  // CONNECT, TRACE or TRACK: refused before any field is read (corsd is no
  // forward proxy, and a TRACE would reflect cookies and credentials).
  std::string_view refused_method;
  // Streaming: body bytes are not stored; each parser step leaves its slice here.
  bool streaming = false;
  std::optional<std::string_view> slice;
  bool tls = false;  // the connection's, kept across requests

 private:
  // The head store: allocated once at the header limit and never grown, so
  // the views into it stay valid; copied into with memcpy alone (every field
  // of every request passes here).
  std::unique_ptr<char[]> head_;
  std::size_t head_size_ = 0;
  std::size_t head_capacity_ = 0;
  std::string path_;  // the normalized path, when it differs from the target's
};

class RequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  RequestParser(RequestStorage& storage, const Limits& limits);

 private:
  using string_view = boost::beast::string_view;
  using error_code = boost::beast::error_code;

  void on_request_impl(boost::beast::http::verb, string_view method, string_view target, int version,
                       error_code& ec) override;
  void on_response_impl(int, string_view, int, error_code& ec) override;
  void on_field_impl(boost::beast::http::field, string_view name, string_view value, error_code& ec) override;
  void on_header_impl(error_code& ec) override;
  void on_body_init_impl(boost::optional<std::uint64_t> const& content_length, error_code& ec) override;
  std::size_t on_body_impl(string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override;
  void on_finish_impl(error_code&) override {}

  RequestStorage& storage_;
  const Limits& limits_;
};

}  // namespace corsd::http
