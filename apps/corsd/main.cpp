// corsd: reads the command line and wires the layers together: the seed's
// policy in front of the echo API, and the demo page on a second origin.

#include <iostream>

#include "corsd/app/echo_api.hpp"
#include "corsd/app/static_site.hpp"
#include "corsd/cors/policy.hpp"
#include "corsd/http/cors_filter.hpp"
#include "corsd/http/server.hpp"
#include "options.hpp"

namespace {

int fail(const std::string& message) {
  std::cerr << "corsd: error: " << message << '\n';
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const corsd::cli::Parsed parsed = corsd::cli::parse(argc, argv);
  if (parsed.exit_code) return *parsed.exit_code;
  const corsd::cli::Options& options = parsed.options;

  corsd::http::Server server({options.limits, options.threads});

  const corsd::cors::RouteTable routes = corsd::cors::RouteTable::seed();
  corsd::app::EchoApi echo;
  corsd::http::CorsFilter api(routes, echo);
  const corsd::http::Listening api_listening = server.listen(options.api.host, options.api.port, api);
  if (!api_listening.ok()) return fail(api_listening.error + " (choose another with --listen HOST:PORT)");

  std::optional<corsd::app::StaticSite> demo;
  corsd::http::Listening demo_listening;
  if (options.demo_enabled) {
    auto site = corsd::app::make_demo_site(
        {options.demo_root + "/index.html", options.jquery, api_listening.url});
    if (auto* error = std::get_if<std::string>(&site)) return fail(*error);
    demo = std::move(std::get<corsd::app::StaticSite>(site));
    demo_listening = server.listen(options.demo.host, options.demo.port, *demo);
    if (!demo_listening.ok()) return fail(demo_listening.error + " (choose another with --demo-listen HOST:PORT)");
  }

  std::cout << "corsd " CORSD_VERSION " ready: api " << api_listening.url;
  if (demo) std::cout << " demo " << demo_listening.url << '/';
  std::cout << std::endl;
  server.run();
  std::cout << "corsd: stopped" << std::endl;
  return 0;
}
