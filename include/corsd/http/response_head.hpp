#pragma once
// File: corsd/http/response_head.hpp
//
// A response's status and fields, owned: an application, the CORS stage and
// the proxy all edit the same head before it is serialized. Storage is kept
// from response to response on a connection, so a warm head allocates
// nothing. Framing (Content-Length, Transfer-Encoding, Connection) is not a
// field here: the serializer writes it from a Framing, so a head can never
// be framed twice.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace corsd::http {

class ResponseHead {
 public:
  struct FieldView {
    std::string_view name;
    std::string_view value;
  };

  ResponseHead() = default;

  unsigned status = 200;

  // add()
  //
  // Appends a field, copying `name` and `value`. Any number of fields, any
  // number of Vary lines (merged into one when serialized).
  void add(std::string_view name, std::string_view value);

  // add_vary()
  //
  // Tokens ("Origin, Access-Control-Request-Method", written like that)
  // merged into the Vary the head carries, skipping those it names already;
  // a head with no Vary of its own gets them as written. `tokens` must
  // outlive serialization (the policies' strings do).
  void add_vary(std::string_view tokens) noexcept { vary_extra_ = tokens; }

  // add_serialized()
  //
  // Fields already in wire form ("Name: value\r\n" each, a Vary line
  // included), written after the head's own: a kept preflight answer
  // (preflight_cache.hpp), on a head with no Vary of its own. `lines` must
  // outlive serialization. HTTP/1 only: an HTTP/2 session sends the fields.
  void add_serialized(std::string_view lines) noexcept { serialized_ = lines; }
  std::string_view serialized() const noexcept { return serialized_; }

  // remove_if()
  //
  // Removes every field whose name `drop` accepts.
  template <typename Predicate>
  void remove_if(Predicate drop) {
    std::size_t kept = 0;
    for (const Entry& e : entries_) {
      if (!drop(text(e.name_at, e.name_size))) entries_[kept++] = e;
    }
    entries_.resize(kept);
  }

  // find()
  //
  // Returns the value of the first field named `name` (case-insensitive).
  std::optional<std::string_view> find(std::string_view name) const noexcept;

  std::size_t size() const noexcept { return entries_.size(); }
  FieldView operator[](std::size_t i) const noexcept {
    const Entry& e = entries_[i];
    return {text(e.name_at, e.name_size), text(e.value_at, e.value_size)};
  }
  std::string_view vary_extra() const noexcept { return vary_extra_; }

  // Empties the head, keeping its storage.
  void clear() noexcept;

 private:
  struct Entry {
    std::uint32_t name_at, name_size, value_at, value_size;
  };
  std::string_view text(std::uint32_t at, std::uint32_t size) const noexcept { return {text_.data() + at, size}; }

  std::string text_;
  std::vector<Entry> entries_;
  std::string_view vary_extra_;
  std::string_view serialized_;
};

// How a response's body is delimited on the wire (RFC 9112 §6).
struct Framing {
  enum class Kind : std::uint8_t {
    length,   // Content-Length: length (a HEAD answer states it and sends no body)
    chunked,  // Transfer-Encoding: chunked; HTTP/1.1 clients only
    close,    // the body ends when the connection closes; HTTP/1.0 clients
    none,     // 1xx, 204, 304: no body and no length, whatever the fields said
  };
  Kind kind = Kind::length;
  std::uint64_t length = 0;
};

// What the connection knows about the response and the handler does not.
class AccessNote;

struct ResponseContext {
  std::string_view date;       // the Date field value, formatted once per second
  bool head = false;           // the request was HEAD: send the fields only
  bool keep_alive = true;      // the connection may stay open after this response
  unsigned version = 11;       // the request's version: 10, 11, or 20 (HTTP/2: see Response::send())
  AccessNote* note = nullptr;  // what the access log is told of the request, if anything
};

// serialize_head()
//
// Appends the status line, the fields (one merged Vary; the context's Date
// unless the head has one), the framing fields and Connection to `out`.
// 1xx, 204 and 304 get no Content-Length whatever `framing` says (RFC 9110
// §8.6, §15.4.5).
void serialize_head(const ResponseHead& head, const ResponseContext& context, Framing framing, std::string& out);

// serialize_fields()
//
// Appends the head's fields as serialize_head() writes them (one merged
// Vary; no framing fields, no Date) and returns whether the head has a Date.
bool serialize_fields(const ResponseHead& head, std::string& out);

// merged_vary()
//
// Appends the one Vary value `head` stands for (its Vary lines and its
// vary_extra() tokens, merged) to `out`; false when there is none.
bool merged_vary(const ResponseHead& head, std::string& out);

// append_field()
//
// Appends "name: value\r\n": one field of a head, a response's or the
// request a proxy sends on.
void append_field(std::string& out, std::string_view name, std::string_view value);

// reason_phrase()
//
// Returns the reason phrase for `status` ("No Content"), or "" if unknown.
std::string_view reason_phrase(unsigned status) noexcept;

// Whether a response with `status` to a request has no body (RFC 9110 §6.4.1).
inline bool status_has_no_body(unsigned status) noexcept { return status < 200 || status == 204 || status == 304; }

}  // namespace corsd::http
