#include "error_answers.hpp"

namespace corsd::http {

std::string_view refused_method(std::string_view method) noexcept {
  for (std::string_view m : {"CONNECT", "TRACE", "TRACK"}) {
    if (method == m) return m;
  }
  return {};
}

void answer_refused_method(Response& response, std::string_view method) {
  if (method == "CONNECT") {
    response.set_status(501);
    response.add("Content-Type", "text/plain; charset=utf-8");
    response.send("not implemented: corsd is not a forward proxy; CONNECT is not served\n");
    return;
  }
  response.set_status(405);
  response.add("Allow", kAllowedMethods);
  response.add("Content-Type", "text/plain; charset=utf-8");
  response.send(
      {"method not allowed: corsd does not answer ", method, " (it would reflect cookies and credentials)\n"});
}

void use_route_cors(Handler& handler, const RequestStorage& storage, Response& response, cors::Decision& decision) {
  if (storage.normalized.error == TargetError::none && handler.cors_for_error(storage.view(), decision)) {
    response.use_cors(&decision);
  }
}

void answer_server_options(Response& response) {
  response.set_status(200);
  response.add("Allow", kAllowedMethods);
  response.send();
}

void answer_error(Response& response, const ErrorAnswer& e) {
  response.set_status(e.status);
  response.add("Content-Type", "text/plain; charset=utf-8");
  response.send(e.message);
}

}  // namespace corsd::http
