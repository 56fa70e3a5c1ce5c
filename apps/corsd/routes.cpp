#include "routes.hpp"

#include <algorithm>

#include "corsd/http/target.hpp"
#include "log.hpp"
#include "settings.hpp"

namespace corsd::cli {
namespace {

// Whether a request can ever match the route's path: requests are matched
// on their normalized path (see http/target.hpp), so a prefix with a byte
// no request path has, a dot segment or a percent-encoded unreserved
// character would silently never match. "" or the error.
std::string check_path(const RouteConfig& config) {
  const std::string& path = config.path;
  if (path.empty() || path.front() != '/' || path.find_first_of("*?#") != std::string::npos)
    return "";  // RouteTable says
  for (std::size_t i = 0; i < path.size(); ++i) {
    const auto c = static_cast<unsigned char>(path[i]);
    if (c <= 0x20 || c >= 0x7f) {
      return config::route_error(
          config, "path",
          "byte " + std::to_string(i) + " is a control byte, a space or not ASCII, which no request path has",
          "percent-encode it (a space is %20), as requests do");
    }
  }
  std::string scratch;
  const http::Target normalized = http::normalize_target(path, scratch);
  if (normalized.error != http::TargetError::none) {
    return config::route_error(
        config, "path", "a request path like this one is refused with 400 (it climbs above \"/\" or is ambiguous)",
        "write the path without \"..\", backslashes, %2F or %5C");
  }
  if (normalized.path != path) {
    return config::route_error(
        config, "path",
        "never matched: requests are matched on their normalized path, here \"" + std::string(normalized.path) + "\"",
        "write \"" + std::string(normalized.path) + "\"");
  }
  return "";
}

// The route's upstream, parsed and resolved, or an error message.
std::variant<app::RouteTarget, std::string> build_target(const RouteConfig& config) {
  app::RouteTarget target;
  if (config.upstream.empty()) return target;
  auto parsed = proxy::parse_upstream(config.upstream);
  if (auto* e = std::get_if<proxy::UpstreamError>(&parsed))
    return config::route_error(config, "upstream", e->rule, e->fix);
  proxy::Upstream upstream = std::get<proxy::Upstream>(std::move(parsed));
  upstream.forward_client_host = config.host_header == HostHeader::client;
  if (std::string e = proxy::resolve(upstream); !e.empty()) {
    return config::route_error(config, "upstream", e, "use an IP address or a name this machine resolves");
  }
  target.upstream = std::move(upstream);
  return target;
}

// What https:// upstreams are verified against, loaded once for all of
// them (when there are any). An error message, or "".
std::string load_upstream_tls(app::Site& site) {
  const bool any = std::any_of(site.targets.begin(), site.targets.end(),
                               [](const app::RouteTarget& t) { return t.upstream && t.upstream->https; });
  if (!any) return {};
  const http::TlsClientConfig& config = site.proxy.upstream_tls;
  http::TlsClientLoad loaded = http::TlsClientCredentials::load(config);
  if (!loaded.ok()) {
    return "[proxy] upstream TLS: " + loaded.error +
           "\n  fix: give upstream_ca a PEM file of the authorities to trust, and upstream_cert with upstream_key "
           "(or neither)";
  }
  for (const std::string& warning : loaded.warnings) log_line(warning, "warning: ");
  for (app::RouteTarget& t : site.targets) {
    if (t.upstream && t.upstream->https) t.upstream->tls = loaded.credentials;
  }
  return {};
}

}  // namespace

std::variant<app::Site, std::string> build_site(const Options& options) {
  app::Site site;
  site.proxy = options.proxy;
  for (auto& address : site.proxy.trusted_proxies) {
    const std::string canonical = proxy::parse_address(address);
    if (canonical.empty()) {
      return "trusted proxy \"" + address +
             "\" is not an IP address\n  fix: list addresses like \"10.0.0.2\" or \"::1\"";
    }
    address = canonical;
  }
  const std::vector<RouteConfig>& configs = options.routes;
  if (configs.empty()) return site;
  const cors::PublicSuffixCheck is_public_suffix = config::system_public_suffixes();
  std::vector<cors::Route> routes;
  site.targets.clear();
  for (const RouteConfig& config : configs) {
    if (std::string e = check_path(config); !e.empty()) return e;
    auto policy = config::create_policy(config, is_public_suffix);
    if (auto* e = std::get_if<std::string>(&policy)) return *e;
    auto target = build_target(config);
    if (auto* e = std::get_if<std::string>(&target)) return *e;
    routes.push_back(cors::Route{config.path, std::get<cors::Policy>(std::move(policy)), site.targets.size()});
    site.targets.push_back(std::get<app::RouteTarget>(std::move(target)));
  }
  if (std::string e = load_upstream_tls(site); !e.empty()) return e;
  auto table = config::create_route_table(std::move(routes), configs);
  if (auto* e = std::get_if<std::string>(&table)) return *e;
  site.routes = std::get<cors::RouteTable>(std::move(table));
  return site;
}

}  // namespace corsd::cli
