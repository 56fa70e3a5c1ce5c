// The blog post's API on a cpp-httplib server with corsd's policy engine
// (corsd/adapters/httplib.hpp): two lines of CORS, every answer right.
//
//   httplib_server [PORT] [--policy FILE | ALLOWED_ORIGIN...]
//
// With no origin it uses the blog post's policy (any origin echoed); with
// origins, those only, with PUT and DELETE and content-type allowed. With
// --policy, the [[routes]] of a corsd config file (corsd::config). PORT 0
// (the default) picks a free one; the first line says which.

#include <iostream>
#include <memory>
#include <string>
#include <variant>

#include "corsd/adapters/httplib.hpp"
#include "corsd/config/policy_file.hpp"

namespace cors = corsd::cors;

namespace {

std::shared_ptr<const cors::Policy> policy_from(int argc, char** argv) {
  if (argc <= 2) return std::make_shared<const cors::Policy>(cors::Policy::seed());
  cors::PolicySpec spec;
  for (int i = 2; i < argc; ++i) spec.allow_origins.emplace_back(argv[i]);
  spec.allow_methods = {"PUT", "DELETE"};
  spec.allow_headers = {"content-type"};
  auto created = cors::Policy::create(spec);
  if (auto* e = std::get_if<cors::PolicyError>(&created)) {
    std::cerr << "httplib_server: " << e->field << ": " << e->rule << "\n  fix: " << e->fix << '\n';
    std::exit(2);
  }
  return std::make_shared<const cors::Policy>(std::get<cors::Policy>(std::move(created)));
}

}  // namespace

int main(int argc, char** argv) {
  httplib::Server server;
  if (argc == 4 && std::string(argv[2]) == "--policy") {
    auto loaded = corsd::config::load_policy_file(argv[3]);
    if (auto* e = std::get_if<std::string>(&loaded)) {
      std::cerr << "httplib_server: " << *e << '\n';
      return 2;
    }
    corsd::adapters::httplib::install(
        server, std::make_shared<const cors::RouteTable>(std::get<cors::RouteTable>(std::move(loaded))));
  } else {
    corsd::adapters::httplib::install(server, policy_from(argc, argv));
  }
  // The blog post's echo API, on /items/... and the demo page's path; anything else is httplib's own 404,
  // which gets CORS too.
  const auto echo = [](const httplib::Request& req, httplib::Response& res) {
    res.set_content("Thank You For The Cross-Domain AJAX Request:\n\nMethod: " + req.method + "\n\n" + req.body,
                    "text/plain; charset=utf-8");
  };
  for (const char* pattern : {R"(/items/.*)", R"(/items)", R"(/some/url/resource/path)"}) {
    server.Get(pattern, echo).Post(pattern, echo).Put(pattern, echo).Delete(pattern, echo).Patch(pattern, echo);
  }
  const int port = argc > 1 && std::stoi(argv[1]) != 0 ? std::stoi(argv[1]) : server.bind_to_any_port("127.0.0.1");
  if (argc > 1 && std::stoi(argv[1]) != 0 && !server.bind_to_port("127.0.0.1", port)) return 1;
  std::cout << "listening on http://127.0.0.1:" << port << std::endl;
  return server.listen_after_bind() ? 0 : 1;
}
