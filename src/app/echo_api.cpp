#include "corsd/app/echo_api.hpp"

namespace corsd::app {

void EchoApi::handle(const http::Request& request, http::Response& response) {
  response.set_status(200);
  response.add("Content-Type", "text/plain; charset=utf-8");
  // The body is echoed as bytes and Content-Length counts bytes: the seed's
  // Node server counted UTF-16 units and cut non-ASCII bodies short.
  // HEAD gets the fields GET would (RFC 9110 §9.3.2), its Content-Length included.
  const std::string_view method = request.method == "HEAD" ? std::string_view("GET") : request.method;
  response.send({"Thank You For The Cross-Domain AJAX Request:\n\nMethod: ", method, "\n\n", request.body});
}

}  // namespace corsd::app
