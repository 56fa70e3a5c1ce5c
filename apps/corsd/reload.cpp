#include "reload.hpp"

#include <unistd.h>

#include "routes.hpp"
#include "systemd.hpp"

namespace corsd::cli {
namespace {

// One write per message, so lines from several threads never interleave.
void log(std::string message) {
  message.insert(0, "corsd: ");
  message.push_back('\n');
  [[maybe_unused]] const auto n = ::write(STDERR_FILENO, message.data(), message.size());
}

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
    log("reload refused, the running configuration stays: " + error);
  };
  Parsed next = parse(argc_, argv_);
  if (!next.error.empty()) return refuse(next.error);
  auto built = build_site(next.options);
  if (auto* error = std::get_if<std::string>(&built)) return refuse(*error);
  gateways_.publish(server_, std::make_shared<const app::Site>(std::get<app::Site>(std::move(built))));
  const auto restart_only = restart_only_changes(started_, next.options);
  if (!restart_only.empty()) {
    log("reload: " + joined(restart_only) + " changed; that takes a restart, and the running values stay");
  }
  stats_.succeeded.add();
  stats_.last_successful.set(1);
  const std::size_t routes = next.options.routes.empty() ? 1 : next.options.routes.size();
  log("reloaded: " + std::to_string(routes) + (routes == 1 ? " route" : " routes"));
}

}  // namespace corsd::cli
