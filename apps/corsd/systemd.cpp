#include "systemd.hpp"

#include <systemd/sd-daemon.h>

#include <cstdlib>

namespace corsd::cli {

InheritedSockets inherited_sockets() {
  InheritedSockets sockets;
  char** names = nullptr;
  const int n = sd_listen_fds_with_names(/*unset_environment=*/1, &names);
  for (int i = 0; i < n; ++i) {
    const int fd = SD_LISTEN_FDS_START + i;
    const std::string_view name = names != nullptr && names[i] != nullptr ? names[i] : "";
    std::optional<int>* slot = name == "admin"                                        ? &sockets.admin
                               : name == "demo"                                       ? &sockets.demo
                               : (name == "api" || name.empty() || name == "unknown") ? &sockets.api
                                                                                      : nullptr;
    if (slot == nullptr || *slot) {
      sockets.error = "systemd passed a socket named \"" + std::string(name) +
                      "\" that corsd has no use for (name them api, admin or demo with FileDescriptorName=)";
    } else {
      *slot = fd;
    }
  }
  if (names != nullptr) {
    for (int i = 0; i < n; ++i) std::free(names[i]);
    std::free(names);
  }
  return sockets;
}

void notify(std::string_view state) noexcept {
  const std::string text(state);
  sd_notify(/*unset_environment=*/0, text.c_str());
}

}  // namespace corsd::cli
