// corsd: reads the command line and the config file, and wires the layers
// together: the site's routes (policies in front of the echo API or an
// upstream) on the API origin, and the demo page on a second origin; SIGHUP
// reloads the routes (reload.hpp).

#include <csignal>
#include <iostream>

#include "audit.hpp"
#include "check.hpp"
#include "corsd/app/admin.hpp"
#include "corsd/app/gateway.hpp"
#include "corsd/app/static_site.hpp"
#include "corsd/http/access_log.hpp"
#include "corsd/http/server.hpp"
#include "corsd/http/tls.hpp"
#include "file_limit.hpp"
#include "log.hpp"
#include "options.hpp"
#include "reload.hpp"
#include "routes.hpp"
#include "systemd.hpp"

namespace {

int fail(const std::string& message) {
  std::cerr << "corsd: error: " << message << '\n';
  return 2;
}

void print_indented(const std::string& text) {
  for (std::size_t at = 0, end; at < text.size(); at = end + 1) {
    end = text.find('\n', at);
    std::cout << "  " << text.substr(at, end - at) << '\n';
  }
}

int check_config(const corsd::cli::Options& options, const corsd::app::Site& site) {
  std::cout << "settings:\n";
  print_indented(corsd::cli::describe_settings(options));
  for (const auto& route : site.routes.routes()) {
    std::cout << "route \"" << route.prefix << "\":\n";
    if (const auto& upstream = site.target(route).upstream) {
      std::cout << "  upstream: " << upstream->url
                << " (Host: " << (upstream->forward_client_host ? "the client's" : upstream->authority) << ")\n";
    }
    print_indented(route.policy.describe());
  }
  std::cout << "config OK\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A log reader or pipe that goes away must not kill the server: writes to
  // it fail with EPIPE instead.
  std::signal(SIGPIPE, SIG_IGN);
  if (argc > 1 && std::string_view(argv[1]) == "check") return corsd::cli::run_check(argc - 1, argv + 1);
  if (argc > 1 && std::string_view(argv[1]) == "audit") return corsd::cli::run_audit(argc - 1, argv + 1);
  const corsd::cli::Parsed parsed = corsd::cli::parse(argc, argv);
  if (!parsed.error.empty()) std::cerr << "corsd: error: " << parsed.error << '\n';
  if (parsed.exit_code) return *parsed.exit_code;
  const corsd::cli::Options& options = parsed.options;

  auto built = corsd::cli::build_site(options);
  if (auto* error = std::get_if<std::string>(&built)) return fail(*error);
  auto site = std::make_shared<const corsd::app::Site>(std::get<corsd::app::Site>(std::move(built)));
  std::shared_ptr<const corsd::http::TlsCredentials> tls;
  if (const auto certificates = corsd::cli::tls_certificates(options); !certificates.empty()) {
    corsd::http::TlsLoad loaded = corsd::http::TlsCredentials::load(certificates, options.http2);
    for (const std::string& warning : loaded.warnings) corsd::cli::log_line(warning, "warning: ");
    if (!loaded.ok()) return fail(loaded.error);
    tls = std::move(loaded.credentials);
  }
  if (options.check_only) return check_config(options, *site);

  // Both logs are declared before the server, so they outlive the workers and write their last lines.
  // The debug log goes to standard error through per-worker queues like the access log's: a stderr
  // nobody reads drops lines (counted on /metrics) and never stalls a worker.
  // The workers' warnings take the same way, whatever the log level.
  // With no standard error at all (closed), warnings are written straight to fd 2, which drops them.
  corsd::http::AccessLog debug_log(options.threads, 256 * 1024);
  const std::string stderr_error = debug_log.configure("/dev/stderr", corsd::http::AccessLogFormat::json);
  if (!stderr_error.empty() && options.log_level == corsd::cli::LogLevel::debug) return fail(stderr_error);
  corsd::app::WorkerRejectionSink on_rejection;
  if (options.log_level == corsd::cli::LogLevel::debug) {
    on_rejection = [&debug_log](unsigned worker, std::string_view line) {
      debug_log.append(worker, "corsd: debug: " + std::string(line) + "\n");
    };
  }
  corsd::app::Gateways gateways(site, on_rejection);
  corsd::http::AccessLog access_log(options.threads);
  if (std::string e = access_log.configure(options.access_log.path, options.access_log.format); !e.empty()) {
    return fail(e);
  }
  // Every connection is a descriptor; so is each listener and upstream connection (a margin).
  const std::uint64_t descriptors = options.limits.connections_per_thread * options.threads + 256;
  if (const std::string warning = corsd::cli::raise_file_limit(descriptors); !warning.empty()) {
    corsd::cli::log_line(warning, "warning: ");
  }
  corsd::http::Server server(
      {options.limits, options.threads, &access_log, stderr_error.empty() ? &debug_log : nullptr});
  if (tls) server.use_tls(tls);
  // The API and the demo speak HTTPS with certificates; the admin endpoints stay plain HTTP.
  const corsd::http::ListenOptions public_listener{.tls = tls != nullptr};
  const corsd::cli::InheritedSockets inherited = corsd::cli::inherited_sockets();
  if (!inherited.error.empty()) return fail(inherited.error);
  // A socket systemd passed, else the configured address.
  const auto serve = [&server](const std::optional<int>& fd, const corsd::cli::HostPort& address,
                               const corsd::http::HandlerFactory& factory, corsd::http::ListenOptions listen = {}) {
    corsd::http::Listening listening =
        fd ? server.adopt(*fd, factory, listen) : server.listen(address.host, address.port, factory, listen);
    if (listening.ok()) {  // a refused listen closed what it warned about
      for (const std::string& warning : listening.warnings) corsd::cli::log_line(warning, "warning: ");
    }
    return listening;
  };
  const corsd::http::Listening api_listening = serve(inherited.api, options.api, gateways.factory(), public_listener);
  if (!api_listening.ok()) return fail(api_listening.error + " (choose another with --listen HOST:PORT)");

  std::optional<corsd::app::StaticSite> demo;
  corsd::http::Listening demo_listening;
  if (inherited.demo && !options.demo_enabled) return fail("systemd passed a demo socket, but the demo is off");
  if (options.demo_enabled) {
    const std::string api_origin = options.demo_api_origin.empty() ? api_listening.url : options.demo_api_origin;
    auto page = corsd::app::make_demo_site({options.demo_root + "/index.html", options.jquery, api_origin});
    if (auto* error = std::get_if<std::string>(&page)) return fail(*error);
    demo = std::move(std::get<corsd::app::StaticSite>(page));
    demo_listening = serve(inherited.demo, options.demo, corsd::http::share(*demo), public_listener);
    if (!demo_listening.ok()) return fail(demo_listening.error + " (choose another with --demo-listen HOST:PORT)");
  }

  corsd::app::ReloadStats reloads;
  const corsd::app::MetricsSources metrics{server, gateways, reloads, access_log, debug_log};
  corsd::http::Listening admin_listening;
  if (options.admin || inherited.admin) {
    admin_listening =
        serve(inherited.admin, options.admin.value_or(corsd::cli::HostPort{}), corsd::app::admin_handlers(metrics),
              {.open_while_draining = true, .tls = false});  // /readyz tells the load balancer 503 while requests drain
    if (!admin_listening.ok()) return fail(admin_listening.error + " (choose another with --admin-listen HOST:PORT)");
  }

  corsd::cli::Reloader reloader(argc, argv, options, gateways, server, access_log, reloads);
  server.on_reload([&reloader] { reloader.reload(); });
  server.on_reopen([&access_log] {
    const std::string error = access_log.reopen();
    corsd::cli::log_line(error.empty() ? "SIGUSR1: log files reopened" : "SIGUSR1: " + error);
  });
  server.on_shutdown([] { corsd::cli::notify("STOPPING=1"); });

  std::cout << "corsd " CORSD_VERSION " ready: api " << api_listening.url;
  if (demo) std::cout << " demo " << demo_listening.url << '/';
  if (admin_listening.ok() && !admin_listening.url.empty()) std::cout << " admin " << admin_listening.url;
  std::cout << std::endl;
  corsd::cli::notify("READY=1\nSTATUS=serving " + api_listening.url);
  server.run();
  std::cout << "corsd: stopped" << std::endl;
  return 0;
}
