#pragma once
// File: corsd/http/handler.hpp

#include "corsd/http/request.hpp"
#include "corsd/http/response.hpp"

namespace corsd::http {

// Handler
//
// An application: answers one request by calling `response.send()`. Called
// on the connection's thread; one handler serves every thread, so handle()
// must only read shared state.
class Handler {
 public:
  virtual ~Handler() = default;
  virtual void handle(const Request& request, Response& response) = 0;
};

}  // namespace corsd::http
