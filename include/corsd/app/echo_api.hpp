#pragma once
// File: corsd/app/echo_api.hpp
//
// The seed's API: every request is answered 200 with a text that names its
// method and repeats its body byte for byte.

#include "corsd/http/handler.hpp"

namespace corsd::app {

class EchoApi final : public http::Handler {
 public:
  void handle(const http::Request& request, http::Response& response) override;
};

}  // namespace corsd::app
