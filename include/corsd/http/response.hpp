#pragma once
// File: corsd/http/response.hpp
//
// The response a handler builds. Fields are collected as views, then send()
// serializes status line, fields, Date, Content-Length and body straight into
// the connection's output buffer: no string concatenation per field, no
// allocation once the buffer has grown to its working size.

#include <array>
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

namespace corsd::http {

// Per-response facts the connection knows and the handler does not.
struct ResponseContext {
  std::string_view date;   // the Date field value, formatted once per second
  bool head = false;       // the request was HEAD: send the fields only
  bool keep_alive = true;  // the connection may stay open after this response
  unsigned version = 11;   // the request's version
};

class Response {
 public:
  static constexpr std::size_t kMaxFields = 24;

  Response(std::string& out, const ResponseContext& context) noexcept : out_(out), context_(context) {}
  Response(const Response&) = delete;
  Response& operator=(const Response&) = delete;

  void set_status(unsigned status) noexcept { status_ = status; }
  unsigned status() const noexcept { return status_; }

  // add()
  //
  // Adds a field. `name` and `value` must outlive send(). A "Vary" field is
  // merged with the tokens given to add_vary(), so the response carries one.
  // Fields past kMaxFields are dropped (the handlers here use fewer than 12).
  void add(std::string_view name, std::string_view value) noexcept;

  // add_vary()
  //
  // Adds tokens ("Origin, Access-Control-Request-Method") to the response's
  // Vary, skipping those the application already named.
  void add_vary(std::string_view tokens) noexcept { vary_extra_ = tokens; }

  // Ends the connection after this response.
  void close_connection() noexcept { context_.keep_alive = false; }

  // send()
  //
  // Serializes the response with `body` (joined from `parts`). A HEAD
  // response gets the Content-Length of the body but not the body.
  void send(std::string_view body = {});
  void send(std::initializer_list<std::string_view> parts);

  bool sent() const noexcept { return sent_; }
  bool keep_alive() const noexcept { return context_.keep_alive; }

 private:
  struct Entry {
    std::string_view name;
    std::string_view value;
  };

  void write_head(std::size_t content_length);
  void write_vary();

  std::string& out_;
  ResponseContext context_;
  unsigned status_ = 200;
  std::array<Entry, kMaxFields> fields_{};
  std::size_t field_count_ = 0;
  std::string_view vary_app_;
  std::string_view vary_extra_;
  bool sent_ = false;
};

// reason_phrase()
//
// Returns the reason phrase for `status` ("No Content"), or "" if unknown.
std::string_view reason_phrase(unsigned status) noexcept;

}  // namespace corsd::http
