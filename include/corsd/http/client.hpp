#pragma once
// File: corsd/http/client.hpp
//
// One HTTP/1.1 request to any server, over TCP or TLS, and its answer: what
// `corsd check` sends as the browser would. It follows no redirect (the
// browser's CORS rules decide what a redirect means) and reads at most
// kMaxBody bytes of a body. TLS is verified against the system's CA store
// with SNI and the host name, unless `insecure`.

#include <chrono>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace corsd::http {

struct ClientRequest {
  std::string method = "GET";
  std::string url;  // http:// or https://
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{10'000};  // for the whole exchange
  bool insecure = false;                      // accept any TLS certificate
};

struct ClientResponse {
  unsigned status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;  // in order, several lines of a name kept apart
  std::string body;
  std::string peer;  // the address connected to, "127.0.0.1:8080"
};

// Why no answer came: said as it is, never as an HTTP status.
struct ClientError {
  std::string what;  // "cannot connect to api.example:443: Connection refused"
};

inline constexpr std::size_t kMaxBody = 1024 * 1024;

// fetch()
//
// Sends `request` and returns the answer, or what went wrong (a URL that
// does not parse, DNS, connection, TLS, timeout, a malformed answer).
std::variant<ClientResponse, ClientError> fetch(const ClientRequest& request);

}  // namespace corsd::http
