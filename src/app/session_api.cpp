#include "corsd/app/session_api.hpp"

#include <sys/random.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdlib>

namespace corsd::app {
namespace {

using IdText = std::array<char, 16>;

// 64 random bits from the OS's CSPRNG, as 16 hex digits: session cookies
// must not be predictable from the ones seen before (a seeded mt19937_64
// is, after 312 outputs).
IdText random_id() {
  std::uint64_t value = 0;
  for (std::size_t got = 0; got < sizeof value;) {
    const ssize_t n = ::getrandom(reinterpret_cast<char*>(&value) + got, sizeof value - got, 0);
    if (n > 0) {
      got += static_cast<std::size_t>(n);
    } else if (errno != EINTR) {
      std::abort();  // no CSPRNG (a kernel before 3.17): never hand out guessable session ids
    }
  }
  IdText text;
  for (char& c : text) {
    c = "0123456789abcdef"[value & 0xf];
    value >>= 4;
  }
  return text;
}

std::string_view view(const IdText& id) { return {id.data(), id.size()}; }

}  // namespace

void SessionApi::handle(const http::Request& request, http::Response& response) {
  const std::string_view path = request.path;
  if (path != "/session" && path != "/whoami") {
    next_.handle(request, response);
    return;
  }
  const IdText request_id = random_id();
  response.add("X-Request-Id", view(request_id));
  response.add("Content-Type", "text/plain; charset=utf-8");
  response.add("Cache-Control", "no-store");
  if (path == "/session") {
    if (request.method != "POST") {
      response.set_status(405);
      response.add("Allow", "POST");
      response.send("start a session with POST\n");
      return;
    }
    const IdText session = random_id();
    std::array<char, 80> cookie{};
    // Over HTTPS the cookie goes with credentialed calls from any site
    // (SameSite=None, which browsers take only with Secure); over plain
    // HTTP, Lax (same-site pages only, such as the demo's other port).
    const std::string_view prefix = "corsd_session=";
    const std::string_view suffix =
        request.tls ? "; Path=/; HttpOnly; Secure; SameSite=None" : "; Path=/; HttpOnly; SameSite=Lax";
    char* end = std::copy(prefix.begin(), prefix.end(), cookie.data());
    end = std::copy(session.begin(), session.end(), end);
    end = std::copy(suffix.begin(), suffix.end(), end);
    response.add("Set-Cookie", std::string_view(cookie.data(), static_cast<std::size_t>(end - cookie.data())));
    response.send({"session started: ", view(session), "\n"});
    return;
  }
  if (request.method != "GET" && request.method != "HEAD") {
    response.set_status(405);
    response.add("Allow", "GET, HEAD");
    response.send("ask who you are with GET\n");
    return;
  }
  const auto cookie = request.find("cookie");
  const auto authorization = request.find("authorization");
  response.send({"cookie: ", cookie.value_or("(none)"), "\nauthorization: ", authorization.value_or("(none)"), "\n"});
}

}  // namespace corsd::app
