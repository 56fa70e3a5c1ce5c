#include "reload.hpp"

#include "log.hpp"
#include "routes.hpp"
#include "systemd.hpp"

namespace corsd::cli {
namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

}  // namespace

void Reloader::reload() {
  notify("RELOADING=1");
  // Serving goes on throughout: systemd hears READY again whatever the outcome.
  struct Ready {
    ~Ready() { notify("READY=1"); }
  } ready;
  const auto refuse = [this](const std::string& error) {
    stats_.failed.add();
    stats_.last_successful.set(0);
    log_line("reload refused, the running configuration stays: " + error);
  };
  Parsed next = parse(argc_, argv_);
  if (!next.error.empty()) return refuse(next.error);
  auto built = build_site(next.options);
  if (auto* error = std::get_if<std::string>(&built)) return refuse(*error);
  const auto certificates = tls_certificates(next.options);
  const bool tls_running = !tls_certificates(started_).empty();
  std::shared_ptr<const http::TlsCredentials> tls;
  if (tls_running && !certificates.empty()) {
    http::TlsLoad loaded = http::TlsCredentials::load(certificates, next.options.http2);
    for (const std::string& warning : loaded.warnings) log_line(warning, "warning: ");
    if (!loaded.ok()) return refuse(loaded.error);
    tls = std::move(loaded.credentials);
  }
  if (next.options.access_log != access_log_options_) {
    const AccessLogOptions& log = next.options.access_log;
    if (std::string error = access_log_.configure(log.path, log.format); !error.empty()) return refuse(error);
    access_log_options_ = log;
  }
  gateways_.publish(server_, std::make_shared<const app::Site>(std::get<app::Site>(std::move(built))));
  if (tls) server_.use_tls(std::move(tls));  // new handshakes; open connections keep theirs
  auto restart_only = restart_only_changes(started_, next.options);
  if (tls_running == certificates.empty()) restart_only.push_back("HTTPS on or off ([server] tls_cert)");
  if (!restart_only.empty()) {
    log_line("reload: " + joined(restart_only) + " changed; that takes a restart, and the running values stay");
  }
  stats_.succeeded.add();
  stats_.last_successful.set(1);
  const std::size_t routes = next.options.routes.empty() ? 1 : next.options.routes.size();
  log_line("reloaded: " + std::to_string(routes) + (routes == 1 ? " route" : " routes"));
}

}  // namespace corsd::cli
