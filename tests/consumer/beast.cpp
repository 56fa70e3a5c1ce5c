// The installed Beast adapter on a Beast request and response: a preflight
// answered from the policy, an application's answer given its CORS.

#include <corsd/adapters/beast.hpp>
#include <iostream>

int main() {
  namespace http = boost::beast::http;
  const corsd::cors::Policy policy = corsd::cors::Policy::seed();
  http::request<http::string_body> preflight{http::verb::options, "/items/1", 11};
  preflight.set(http::field::origin, "http://localhost:8081");
  preflight.set(http::field::access_control_request_method, "PUT");
  const auto d = corsd::adapters::beast::decide(policy, preflight);
  const auto answer = corsd::adapters::beast::preflight_response(d, 11, true);
  std::cout << answer.result_int() << ' ' << answer[http::field::access_control_allow_origin] << '\n';

  http::request<http::string_body> put{http::verb::put, "/items/1", 11};
  put.set(http::field::origin, "http://localhost:8081");
  http::response<http::string_body> res{http::status::ok, 11};
  res.set(http::field::access_control_allow_origin, "*");  // the application's own, replaced
  res.set(http::field::vary, "Accept-Encoding");
  corsd::adapters::beast::apply(corsd::adapters::beast::decide(policy, put), res);
  std::cout << res[http::field::access_control_allow_origin] << " | " << res[http::field::vary] << '\n';
  return 0;
}
