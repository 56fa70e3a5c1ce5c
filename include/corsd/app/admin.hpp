#pragma once
// File: corsd/app/admin.hpp
//
// The admin listener's endpoints, for operators and load balancers:
//   /metrics  Prometheus text format: every worker's counters, summed on
//             scrape (nothing shared is written on the request path);
//   /livez    200 while the process serves;
//   /readyz   200 when the config is loaded, the listeners bound, the
//             server not draining and every upstream accepts a connection;
//             503 otherwise; `?verbose` lists each check.
// Off unless configured (`[admin] listen`, `--admin-listen`).

#include <memory>
#include <string>

#include "corsd/app/gateway.hpp"
#include "corsd/http/handler.hpp"
#include "corsd/http/server.hpp"
#include "corsd/http/stats.hpp"

namespace corsd::app {

// Reloads, counted by the thread that runs them.
struct ReloadStats {
  http::Counter succeeded;
  http::Counter failed;
  http::Gauge last_successful{};  // 1 after a good reload (and at start), 0 after a refused one

  ReloadStats() { last_successful.set(1); }
};

// What /metrics reads; all must outlive the server.
struct MetricsSources {
  const http::Server& server;
  const Gateways& gateways;
  const ReloadStats& reloads;
  const http::AccessLog& access_log;
  const http::AccessLog& debug_log;
};

// render_metrics()
//
// The Prometheus text exposition (version 0.0.4) of every counter, summed
// over the workers. Safe from any thread while the server runs.
std::string render_metrics(const MetricsSources& sources);

// admin_handlers()
//
// The admin listener's handler factory. `sources.gateways` gives each
// worker's current Site (for the upstreams /readyz checks).
http::HandlerFactory admin_handlers(const MetricsSources& sources);

}  // namespace corsd::app
