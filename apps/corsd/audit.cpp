#include "audit.hpp"

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "corsd/cors/detail/audit.hpp"
#include "corsd/http/client.hpp"
#include "json.hpp"
#include "subcommand.hpp"

#ifndef CORSD_VERSION
#define CORSD_VERSION "0.0.0"
#endif

namespace corsd::cli {
namespace {

namespace audit = cors::audit;

struct AuditOptions {
  std::string url;
  std::string page_origin;
  std::string fail_on = "medium";
  bool json = false;
  bool insecure = false;
  double timeout_seconds = 10;
};

std::string origin_of(const std::string& url) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string::npos) return {};
  return url.substr(0, url.find_first_of("/?#", scheme + 3));
}

// Sends one probe; an error ends the audit (said as such, never a finding).
std::variant<cors::browser::Response, std::string> send(const AuditOptions& o, const audit::Probe& probe,
                                                        bool preflight) {
  http::ClientRequest r;
  r.method = preflight ? "OPTIONS" : "GET";
  r.url = o.url;
  r.insecure = o.insecure;
  r.timeout = std::chrono::milliseconds(static_cast<long long>(o.timeout_seconds * 1000));
  r.headers = {{"Origin", probe.origin}, {"Accept", "*/*"}, {"Sec-Fetch-Mode", "cors"}};
  if (preflight) {
    r.headers.emplace_back("Access-Control-Request-Method", std::string(audit::kProbeMethod));
    r.headers.emplace_back("Access-Control-Request-Headers", std::string(audit::kProbeHeader));
  }
  r.headers.emplace_back("User-Agent", "corsd-audit/" CORSD_VERSION);
  auto result = http::fetch(r);
  if (auto* e = std::get_if<http::ClientError>(&result)) return e->what;
  return as_browser_sees(std::get<http::ClientResponse>(result));
}

void print_json(const AuditOptions& o, const std::vector<audit::Finding>& found, std::size_t requests, bool failed) {
  const auto finding = [](const audit::Finding& f) {
    return "{\"class\":" + json_string(audit::class_name(f.what)) +
           ",\"severity\":" + json_string(audit::severity_name(f.severity)) +
           ",\"probe_origin\":" + json_string(f.probe_origin) +
           ",\"request\":" + json_string(f.preflight ? "preflight" : "get") + ",\"evidence\":" +
           json_list(f.evidence,
                     [](const auto& h) { return "[" + json_string(h.name) + "," + json_string(h.value) + "]"; }) +
           ",\"explanation\":" + json_string(f.explanation) + ",\"fix\":" + json_string(f.fix) + "}";
  };
  std::cout << "{\"url\":" << json_string(o.url) << ",\"requests\":" << requests
            << ",\"fail_on\":" << json_string(o.fail_on) << ",\"failed\":" << (failed ? "true" : "false")
            << ",\"findings\":" << json_list(found, finding) << "}\n";
}

void print_text(const AuditOptions& o, const std::vector<audit::Finding>& found, std::size_t requests) {
  std::cout << "corsd audit: " << o.url << " (" << requests << " requests)\n";
  if (found.empty()) {
    std::cout << "no finding: no probe origin was accepted that should not be, and every answer is well-formed\n";
    return;
  }
  for (const audit::Finding& f : found) {
    std::cout << '\n'
              << audit::severity_name(f.severity) << ": " << audit::class_name(f.what) << '\n'
              << "  probe: Origin: " << f.probe_origin << " on a " << (f.preflight ? "preflight" : "GET") << '\n';
    for (const auto& h : f.evidence) std::cout << "  < " << h.name << ": " << h.value << '\n';
    std::cout << "  " << f.explanation << "\n  fix: " << f.fix << '\n';
  }
}

}  // namespace

int run_audit(int argc, char** argv) {
  AuditOptions o;
  CLI::App app{
      "corsd audit: probe a URL with the origins attackers use, on simple requests and preflights, and report\n"
      "every CORS misconfiguration the answers show. Exit status: 0 no finding at --fail-on or above, 1 some,\n"
      "2 could not audit.",
      "corsd audit"};
  app.add_option("url", o.url, "The API URL to probe (http:// or https://)")->required();
  app.add_option("--origin", o.page_origin, "The origin of the pages the API is meant for (more look-alikes)");
  app.add_option("--fail-on", o.fail_on, "Lowest severity that makes the exit status 1")
      ->check(CLI::IsMember({"info", "low", "medium", "high", "critical"}))
      ->capture_default_str();
  app.add_flag("--json", o.json, "Print one JSON object instead of text");
  app.add_flag("--insecure", o.insecure, "Accept any TLS certificate (a test server's own)");
  app.add_option("--timeout", o.timeout_seconds, "Seconds for each request")->check(CLI::Range(0.1, 600.0));
  if (const auto status = parse_subcommand(app, argc, argv, "audit")) return *status;
  if (!o.page_origin.empty() && !is_page_origin(o.page_origin, "audit")) return 2;
  std::vector<audit::Observation> seen;
  for (const audit::Probe& probe : audit::probes(origin_of(o.url), o.page_origin)) {
    for (const bool preflight : {false, true}) {
      auto answer = send(o, probe, preflight);
      if (auto* error = std::get_if<std::string>(&answer)) {
        std::cerr << "corsd audit: could not audit: " << *error << '\n';
        return 2;
      }
      seen.push_back({probe, preflight, std::get<cors::browser::Response>(std::move(answer))});
    }
  }
  const auto found = audit::findings(seen, o.page_origin);
  const audit::Severity threshold = *audit::severity_from(o.fail_on);
  const bool failed =
      std::any_of(found.begin(), found.end(), [threshold](const audit::Finding& f) { return f.severity >= threshold; });
  if (o.json) {
    print_json(o, found, seen.size(), failed);
  } else {
    print_text(o, found, seen.size());
  }
  return failed ? 1 : 0;
}

}  // namespace corsd::cli
