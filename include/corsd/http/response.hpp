#pragma once
// File: corsd/http/response.hpp
//
// The response a buffered handler builds: the head is edited in place
// (owned fields, see response_head.hpp), then send() serializes it with the
// body straight into the connection's output buffer. No allocation once the
// buffers have grown to their working size.

#include <initializer_list>
#include <string>
#include <string_view>

#include "corsd/http/response_head.hpp"

namespace corsd::cors {
struct Decision;
}

namespace corsd::http {

class Response {
 public:
  // `head` must be empty; `out` receives the serialized response.
  Response(std::string& out, ResponseHead& head, const ResponseContext& context) noexcept
      : out_(out), head_(head), context_(context) {}
  Response(const Response&) = delete;
  Response& operator=(const Response&) = delete;

  void set_status(unsigned status) noexcept { head_.status = status; }
  unsigned status() const noexcept { return head_.status; }

  // add()
  //
  // Adds a field (copied). Vary lines are merged into one.
  void add(std::string_view name, std::string_view value) { head_.add(name, value); }

  ResponseHead& head() noexcept { return head_; }
  // Whether the head goes out as HTTP/2 fields rather than serialized.
  bool over_http2() const noexcept { return context_.version == 20; }

  // use_cors()
  //
  // Makes send() apply `decision` to the head first (see cors_stage.hpp):
  // whatever Access-Control-* fields the application set are replaced by
  // the policy's. `decision` must outlive send().
  // It is also what the access log says of the request's CORS.
  void use_cors(const cors::Decision* decision) noexcept;

  // Ends the connection after this response.
  void close_connection() noexcept { context_.keep_alive = false; }

  // send()
  //
  // Serializes the response with `body` (joined from `parts`). A HEAD
  // response gets the Content-Length of the body but not the body; 204 and
  // 304 get neither. Over HTTP/2 (context version 20) only the body goes
  // into the output; the session sends the head from head() as fields.
  void send(std::string_view body = {});
  void send(std::initializer_list<std::string_view> parts);

  bool sent() const noexcept { return sent_; }
  // The body bytes send() wrote (none for HEAD, 204 and 304).
  std::uint64_t body_bytes() const noexcept { return body_bytes_; }
  // The length of the body as sent (or, for HEAD, as GET would send it).
  std::uint64_t content_length() const noexcept { return content_length_; }
  bool keep_alive() const noexcept { return context_.keep_alive; }

 private:
  std::string& out_;
  ResponseHead& head_;
  ResponseContext context_;
  const cors::Decision* cors_ = nullptr;
  std::uint64_t body_bytes_ = 0;
  std::uint64_t content_length_ = 0;
  bool sent_ = false;
};

}  // namespace corsd::http
