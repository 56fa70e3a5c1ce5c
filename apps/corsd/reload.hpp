#pragma once
// What SIGHUP does: read the command line again (and so the config file),
// check the result as at start, and publish the new routes, policies,
// upstreams and proxy settings to every worker. A configuration that fails
// is refused with the same file:line errors and the running one stays;
// settings that only a restart can change are named and left as they are.

#include <string>
#include <vector>

#include "corsd/app/admin.hpp"
#include "corsd/app/gateway.hpp"
#include "corsd/http/server.hpp"
#include "options.hpp"

namespace corsd::cli {

class Reloader {
 public:
  // `argv` must outlive the reloader (main's does).
  Reloader(int argc, char** argv, Options started, app::Gateways& gateways, http::Server& server,
           app::ReloadStats& stats)
      : argc_(argc), argv_(argv), started_(std::move(started)), gateways_(gateways), server_(server), stats_(stats) {}

  // reload()
  //
  // One reload, logged to stderr. On the server's control thread.
  void reload();

 private:
  int argc_;
  char** argv_;
  // As at start: restart-only settings keep these values while it runs.
  const Options started_;
  app::Gateways& gateways_;
  http::Server& server_;
  app::ReloadStats& stats_;
};

}  // namespace corsd::cli
