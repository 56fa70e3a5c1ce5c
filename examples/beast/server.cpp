// The blog post's API served by a plain Boost.Beast server with corsd's
// policy engine (corsd/adapters/beast.hpp): preflights answered from the
// policy, every other answer given exactly the policy's CORS fields.
//
//   beast_server [PORT] [--policy FILE | --bare | ALLOWED_ORIGIN...]
//
// With no origin it uses the blog post's policy (any origin echoed); with
// origins, those only, with PUT and DELETE and content-type allowed. With
// --policy, the [[routes]] of a corsd config file (corsd::config), each
// path prefix its own policy. --bare serves the API with no CORS at all:
// what the benchmark compares with. PORT 0 (the default) picks a free one;
// the first line says which.

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "corsd/adapters/beast.hpp"
#include "corsd/config/policy_file.hpp"

namespace net = boost::asio;
namespace http = boost::beast::http;
namespace cors = corsd::cors;
using tcp = net::ip::tcp;

namespace {

// The blog post's echo API: what came, said back.
http::response<http::string_body> echo(const http::request<http::string_body>& req) {
  http::response<http::string_body> res{http::status::ok, req.version()};
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.body() = "Thank You For The Cross-Domain AJAX Request:\n\nMethod: " + std::string(req.method_string()) + "\n\n" +
               req.body();
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  return res;
}

// The routes the arguments give; none: --bare.
std::optional<cors::RouteTable> routes_from(int argc, char** argv) {
  const std::string mode = argc > 2 ? argv[2] : "";
  if (mode == "--bare") return std::nullopt;
  if (mode == "--policy" && argc == 4) {
    auto loaded = corsd::config::load_policy_file(argv[3]);
    if (auto* e = std::get_if<std::string>(&loaded)) {
      std::cerr << "beast_server: " << *e << '\n';
      std::exit(2);
    }
    return std::get<cors::RouteTable>(std::move(loaded));
  }
  cors::Policy policy = cors::Policy::seed();
  if (argc > 2) {
    cors::PolicySpec spec;
    for (int i = 2; i < argc; ++i) spec.allow_origins.emplace_back(argv[i]);
    spec.allow_methods = {"PUT", "DELETE"};
    spec.allow_headers = {"content-type"};
    auto created = cors::Policy::create(spec);
    if (auto* e = std::get_if<cors::PolicyError>(&created)) {
      std::cerr << "beast_server: " << e->field << ": " << e->rule << "\n  fix: " << e->fix << '\n';
      std::exit(2);
    }
    policy = std::get<cors::Policy>(std::move(created));
  }
  std::vector<cors::Route> one{{"/", std::move(policy), 0}};
  return std::get<cors::RouteTable>(cors::RouteTable::create(std::move(one)));
}

void serve(tcp::socket socket, const std::optional<cors::RouteTable>& routes) {
  boost::beast::flat_buffer buffer;
  boost::beast::error_code ec;
  for (;;) {
    http::request<http::string_body> req;
    http::read(socket, buffer, req, ec);
    if (ec) return;
    const cors::Policy* policy = routes ? corsd::adapters::beast::policy_for(*routes, req) : nullptr;
    const cors::Decision d = policy ? corsd::adapters::beast::decide(*policy, req) : cors::Decision{};
    if (policy && cors::answers_preflight(*policy, d)) {
      http::write(socket, corsd::adapters::beast::preflight_response(d, req.version(), req.keep_alive()), ec);
    } else {
      auto res = echo(req);
      if (policy) corsd::adapters::beast::apply(d, res);
      http::write(socket, res, ec);
    }
    if (ec || !req.keep_alive()) return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::optional<cors::RouteTable> routes = routes_from(argc, argv);
  net::io_context io;
  tcp::acceptor acceptor(
      io, {net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(argc > 1 ? std::stoi(argv[1]) : 0)});
  std::cout << "listening on http://127.0.0.1:" << acceptor.local_endpoint().port() << std::endl;
  for (;;) {
    tcp::socket socket = acceptor.accept();
    std::thread(serve, std::move(socket), std::cref(routes)).detach();
  }
}
