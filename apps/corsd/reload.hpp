#pragma once
// What SIGHUP does: read the command line again (and so the config file),
// check the result as at start, and publish the new routes, policies,
// upstreams, proxy settings and access log to every worker. A configuration that fails
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
           http::AccessLog& access_log, app::ReloadStats& stats)
      : argc_(argc),
        argv_(argv),
        started_(started),
        access_log_options_(started.access_log),
        gateways_(gateways),
        server_(server),
        access_log_(access_log),
        stats_(stats) {}

  // reload()
  //
  // One reload, logged to stderr. On the server's control thread.
  void reload();

 private:
  int argc_;
  char** argv_;
  // As at start: restart-only settings keep these values while it runs.
  const Options started_;
  AccessLogOptions access_log_options_;  // in use now
  app::Gateways& gateways_;
  http::Server& server_;
  http::AccessLog& access_log_;
  app::ReloadStats& stats_;
};

}  // namespace corsd::cli
