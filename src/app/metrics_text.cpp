// /metrics: every worker's counters, summed, in the Prometheus text format
// (names after Prometheus's conventions: corsd_ prefix, base units, _total
// for counters).

#include <cstdint>
#include <cstdio>
#include <map>
#include <vector>

#include "corsd/app/admin.hpp"

namespace corsd::app {
namespace {

class Writer {
 public:
  // The HELP and TYPE lines of a family.
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  }

  // One sample; `labels` alternate names and values.
  void sample(std::string_view name, std::initializer_list<std::string_view> labels, double value) {
    out_.append(name);
    if (labels.size() > 0) {
      out_.push_back('{');
      bool first = true;
      for (auto it = labels.begin(); it != labels.end(); it += 2) {
        if (!first) out_.push_back(',');
        first = false;
        out_.append(*it).append("=\"");
        escape(*(it + 1));
        out_.push_back('"');
      }
      out_.push_back('}');
    }
    char text[40];
    // Counts print as integers; sums of seconds with the precision they have.
    const bool integral = value == static_cast<double>(static_cast<std::int64_t>(value));
    std::snprintf(text, sizeof text, integral ? " %.0f\n" : " %.9g\n", value);
    out_.append(text);
  }

  // A family of one sample without labels.
  void single(std::string_view name, std::string_view type, std::string_view help, double value) {
    family(name, type, help);
    sample(name, {}, value);
  }

  std::string take() { return std::move(out_); }

 private:
  void escape(std::string_view value) {
    for (const char c : value) {
      if (c == '\\' || c == '"') out_.push_back('\\');
      if (c == '\n') {
        out_.append("\\n");
        continue;
      }
      out_.push_back(c);
    }
  }

  std::string out_;
};

// The sum of `value` over every worker's stats (or every worker's slot of one label).
template <typename T, typename F>
double sum(const std::vector<const T*>& all, F value) {
  double total = 0;
  for (const T* s : all) total += static_cast<double>(value(*s));
  return total;
}

void write_http(Writer& w, const std::vector<const http::WorkerStats*>& workers) {
  w.single("corsd_connections_open", "gauge", "Client connections open now.",
           sum(workers, [](auto& s) { return s.connections_open.value(); }));
  w.single("corsd_connections_accepted_total", "counter", "Client connections accepted.",
           sum(workers, [](auto& s) { return s.connections_accepted.value(); }));
  w.single("corsd_connections_refused_total", "counter", "Client connections refused with 503 over max_connections.",
           sum(workers, [](auto& s) { return s.connections_refused.value(); }));
  w.family("corsd_http_responses_total", "counter", "Answers to clients, by status class.");
  for (std::size_t c = 1; c <= 5; ++c) {
    const std::string code = std::to_string(c) + "xx";
    w.sample("corsd_http_responses_total", {"code", code},
             sum(workers, [c](auto& s) { return s.responses[c].value(); }));
  }
  w.single("corsd_http_request_body_bytes_total", "counter", "Request body bytes received (de-chunked).",
           sum(workers, [](auto& s) { return s.request_body_bytes.value(); }));
  w.single("corsd_http_response_bytes_total", "counter", "Bytes written to clients.",
           sum(workers, [](auto& s) { return s.response_bytes.value(); }));

  const std::string duration = "corsd_http_request_duration_seconds";
  w.family(duration, "histogram",
           "From a request's parsed head to its answer composed (buffered) or written (streamed).");
  const auto& bounds = http::DurationHistogram::kBoundsNs;
  double cumulative = 0;
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += sum(workers, [i](auto& s) { return s.request_duration.bucket(i); });
    char le[32];
    if (i < bounds.size()) {
      std::snprintf(le, sizeof le, "%g", static_cast<double>(bounds[i]) / 1e9);
    } else {
      std::snprintf(le, sizeof le, "+Inf");
    }
    w.sample(duration + "_bucket", {"le", le}, cumulative);
  }
  w.sample(duration + "_sum", {}, sum(workers, [](auto& s) { return s.request_duration.sum_ns(); }) / 1e9);
  w.sample(duration + "_count", {}, cumulative);
}

// Sums `T` by label over every worker's gateways; `table` picks a gateway's table.
template <typename T, typename Table>
std::map<std::string, std::vector<const T*>> by_label(const Gateways& gateways, Table table) {
  std::map<std::string, std::vector<const T*>> grouped;
  for (const auto& worker : gateways.by_worker()) {
    for (const Gateway* g : worker) {
      for (const auto& slot : table(*g).published()) grouped[slot.label].push_back(&slot.stats);
    }
  }
  return grouped;
}

void write_routes(Writer& w, const Gateways& gateways) {
  const auto routes = by_label<RouteStats>(
      gateways, [](const Gateway& g) -> auto& { return g.route_stats(); });
  w.family("corsd_cors_requests_total", "counter", "Requests on a route, by the CORS stage's decision.");
  for (const auto& [route, stats] : routes) {
    for (std::size_t k = 0; k < cors::kDecisionKinds; ++k) {
      const auto name = cors::kind_name(static_cast<cors::DecisionKind>(k));
      w.sample("corsd_cors_requests_total", {"route", route, "decision", name},
               sum(stats, [k](const RouteStats& s) { return s.decisions[k].value(); }));
    }
  }
  w.family("corsd_cors_rejections_total", "counter", "Rejected CORS requests on a route, by reason.");
  for (const auto& [route, stats] : routes) {
    for (std::size_t r = 1; r < cors::kRejectReasons; ++r) {
      const auto name = cors::reason_name(static_cast<cors::RejectReason>(r));
      w.sample("corsd_cors_rejections_total", {"route", route, "reason", name},
               sum(stats, [r](const RouteStats& s) { return s.rejections[r].value(); }));
    }
  }
}

void write_upstreams(Writer& w, const Gateways& gateways) {
  const auto upstreams = by_label<proxy::UpstreamStats>(
      gateways, [](const Gateway& g) -> auto& { return g.upstream_stats(); });
  w.family("corsd_upstream_requests_total", "counter", "Requests forwarded to an upstream (or answered for it).");
  for (const auto& [upstream, stats] : upstreams) {
    w.sample("corsd_upstream_requests_total", {"upstream", upstream},
             sum(stats, [](const proxy::UpstreamStats& s) { return s.requests.value(); }));
  }
  w.family("corsd_upstream_errors_total", "counter", "Answers corsd gave for an upstream (502, 504, 501), by kind.");
  for (const auto& [upstream, stats] : upstreams) {
    for (std::size_t k = 0; k < proxy::kFailureKinds; ++k) {
      const auto name = proxy::failure_name(static_cast<proxy::FailureKind>(k));
      w.sample("corsd_upstream_errors_total", {"upstream", upstream, "kind", name},
               sum(stats, [k](const proxy::UpstreamStats& s) { return s.errors[k].value(); }));
    }
  }
  w.family("corsd_upstream_idle_connections", "gauge", "Idle keep-alive connections pooled for an upstream.");
  for (const auto& [upstream, stats] : upstreams) {
    w.sample("corsd_upstream_idle_connections", {"upstream", upstream},
             sum(stats, [](const proxy::UpstreamStats& s) { return s.idle_connections.value(); }));
  }
}

void write_reloads(Writer& w, const ReloadStats& reloads) {
  w.family("corsd_config_reloads_total", "counter", "Config reloads on SIGHUP, by result.");
  w.sample("corsd_config_reloads_total", {"result", "success"}, static_cast<double>(reloads.succeeded.value()));
  w.sample("corsd_config_reloads_total", {"result", "failure"}, static_cast<double>(reloads.failed.value()));
  w.single("corsd_config_last_reload_successful", "gauge", "1 when the last reload (or the start) succeeded.",
           static_cast<double>(reloads.last_successful.value()));
}

void write_debug_log(Writer& w, const http::AccessLog& log) {
  w.single("corsd_debug_log_dropped_total", "counter",
           "Lines for standard error from the workers (debug lines, warnings) dropped: it did not take them in "
           "time.",
           static_cast<double>(log.dropped()));
}

void write_access_log(Writer& w, const http::AccessLog& log) {
  w.single("corsd_access_log_lines_total", "counter", "Lines queued for the access log.",
           static_cast<double>(log.lines()));
  w.single("corsd_access_log_dropped_total", "counter",
           "Access log lines dropped: a worker's queue was full, or the write failed.",
           static_cast<double>(log.dropped()));
}

}  // namespace

std::string render_metrics(const MetricsSources& sources) {
  Writer w;
  write_http(w, sources.server.worker_stats());
  write_routes(w, sources.gateways);
  write_upstreams(w, sources.gateways);
  write_reloads(w, sources.reloads);
  write_access_log(w, sources.access_log);
  write_debug_log(w, sources.debug_log);
  return w.take();
}

}  // namespace corsd::app
