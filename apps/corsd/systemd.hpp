#pragma once
// What systemd gives corsd and wants from it: the sockets it listens on for
// corsd (socket activation: a restart loses no connection, and ports below
// 1024 need no capability), and notifications of readiness, reloads and
// stopping (Type=notify). Outside systemd these find nothing and do nothing.

#include <optional>
#include <string>
#include <string_view>

namespace corsd::cli {

// Sockets passed by systemd (LISTEN_FDS), by their FileDescriptorName=:
// "api", "admin", "demo"; an unnamed one is the API's.
struct InheritedSockets {
  std::optional<int> api, admin, demo;
  std::string error;  // a socket corsd cannot place
};

// inherited_sockets()
//
// Takes the sockets systemd passed (once: the environment is cleared, so
// nothing corsd starts inherits them).
InheritedSockets inherited_sockets();

// notify()
//
// Tells systemd `state` ("READY=1", "RELOADING=1", "STOPPING=1", "STATUS=...").
void notify(std::string_view state) noexcept;

}  // namespace corsd::cli
