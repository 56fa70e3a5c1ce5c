// Fuzzes the request path without sockets: Beast's parser with corsd's
// callbacks over any bytes, then each complete request through the gateway
// (the CORS stage and the echo API). Every answer must be one well-formed response.

#include <boost/asio/buffer.hpp>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include "corsd/app/gateway.hpp"
#include "corsd/testing/test_worker.hpp"
#include "request_parser.hpp"
#include "require.hpp"

namespace {

using corsd::fuzz::require;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static corsd::testing::TestWorker worker;
  static corsd::app::Gateway gateway(worker, std::make_shared<const corsd::app::Site>());
  corsd::http::Limits limits;
  limits.body_bytes = 4096;
  limits.header_bytes = 4096;
  corsd::http::RequestStorage storage(limits);
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  for (int served = 0; served < 16 && !rest.empty(); ++served) {
    storage.clear();
    corsd::http::RequestParser parser(storage, limits);
    parser.eager(true);
    boost::beast::error_code ec;
    while (!parser.is_done() && !ec && !rest.empty()) {
      const std::size_t used = parser.put(boost::asio::const_buffer(rest.data(), rest.size()), ec);
      rest.remove_prefix(used);
      if (used == 0 && !ec) break;
    }
    if (!parser.is_done()) return 0;  // incomplete or refused: the connection answers 4xx and closes
    std::string out;
    corsd::http::ResponseHead head;
    corsd::http::Response response(out, head, {"Wed, 25 Nov 2026 13:00:00 GMT", storage.method == "HEAD", true, 11});
    gateway.handle(storage.view(), response);
    require(response.sent());
    require(out.rfind("HTTP/1.1 ", 0) == 0);
    require(out.find("\r\n\r\n") != std::string::npos);
  }
  return 0;
}
