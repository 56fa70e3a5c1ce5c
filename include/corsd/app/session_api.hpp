#pragma once
// File: corsd/app/session_api.hpp
//
// Two endpoints that make credentials visible, for the demo and the browser
// tests: POST /session sets a session cookie, GET /whoami reports the
// cookie and Authorization the request carried. Both send an X-Request-Id a
// policy can expose. Every other path goes to `next` (the echo API).

#include "corsd/http/handler.hpp"

namespace corsd::app {

class SessionApi final : public http::Handler {
 public:
  explicit SessionApi(http::Handler& next) noexcept : next_(next) {}

  void handle(const http::Request& request, http::Response& response) override;

 private:
  http::Handler& next_;
};

}  // namespace corsd::app
