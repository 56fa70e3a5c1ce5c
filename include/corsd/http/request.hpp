#pragma once
// File: corsd/http/request.hpp
//
// A parsed HTTP/1.1 request as handlers see it: views into the connection's
// buffers, valid until the exchange ends.

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace corsd::http {

struct Field {
  std::string_view name;
  std::string_view value;
};

struct Request {
  std::string_view method;  // as sent; methods are case-sensitive
  std::string_view target;  // as sent
  std::string_view path;    // normalized (see target.hpp): what routes match and the upstream gets
  std::string_view query;   // "?a=1", or empty
  unsigned version = 11;    // 10 for HTTP/1.0, 11 for HTTP/1.1
  std::span<const Field> fields;
  std::string_view body;  // the whole body, de-chunked; empty for a streamed exchange
  bool tls = false;       // it came over TLS (https)

  // find()
  //
  // Returns the value of the first field named `name` (case-insensitive).
  std::optional<std::string_view> find(std::string_view name) const noexcept;

  // count()
  //
  // Returns how many fields are named `name` (case-insensitive).
  std::size_t count(std::string_view name) const noexcept;
};

}  // namespace corsd::http
