#include "corsd/app/echo_api.hpp"

namespace corsd::app {

void EchoApi::handle(const http::Request& request, http::Response& response) {
  response.set_status(200);
  response.add("Content-Type", "text/plain; charset=utf-8");
  // The body is echoed as bytes and Content-Length counts bytes: the seed's
  // Node server counted UTF-16 units and cut non-ASCII bodies short.
  response.send({"Thank You For The Cross-Domain AJAX Request:\n\nMethod: ", request.method, "\n\n", request.body});
}

}  // namespace corsd::app
