#include "routes.hpp"

#include <libpsl.h>

namespace corsd::cli {
namespace {

// The Public Suffix List Debian ships (package publicsuffix), else libpsl's
// built-in copy.
cors::PublicSuffixCheck system_public_suffixes() {
  static psl_ctx_t* const psl = [] {
    psl_ctx_t* latest = psl_latest(nullptr);
    return latest ? latest : const_cast<psl_ctx_t*>(psl_builtin());
  }();
  if (psl == nullptr) return {};
  return [](std::string_view domain) {
    return psl_is_public_suffix2(psl, std::string(domain).c_str(), PSL_TYPE_ANY) != 0;
  };
}

std::string flag_for(const std::string& field) {
  if (field == "allow_origins") return "--allow-origin";
  if (field == "upstream") return "--upstream";
  if (field == "max_age") return "--max-age";
  std::string flag = "--" + field;
  for (char& c : flag) c = c == '_' ? '-' : c;
  return flag;
}

std::string where(const RouteConfig& route, const cors::PolicyError& e) {
  if (route.file.empty()) return flag_for(e.field);
  std::size_t line = route.line;
  if (auto it = route.key_lines.find(e.field); it != route.key_lines.end()) line = it->second;
  if (auto it = route.element_lines.find(e.field); it != route.element_lines.end() && e.index < it->second.size()) {
    line = it->second[e.index];
  }
  return route.file + ":" + std::to_string(line) + ": route \"" + route.path + "\": " + e.field;
}

std::string error_at(const RouteConfig& config, const std::string& field, const std::string& rule,
                     const std::string& fix) {
  return where(config, cors::PolicyError{field, rule, fix}) + ": " + rule + "\n  fix: " + fix;
}

// The route's upstream, parsed and resolved, or an error message.
std::variant<app::RouteTarget, std::string> build_target(const RouteConfig& config) {
  app::RouteTarget target;
  if (config.upstream.empty()) return target;
  auto parsed = proxy::parse_upstream(config.upstream);
  if (auto* e = std::get_if<proxy::UpstreamError>(&parsed)) return error_at(config, "upstream", e->rule, e->fix);
  proxy::Upstream upstream = std::get<proxy::Upstream>(std::move(parsed));
  upstream.forward_client_host = !config.upstream_host;
  if (std::string e = proxy::resolve(upstream); !e.empty()) {
    return error_at(config, "upstream", e, "use an IP address or a name this machine resolves");
  }
  target.upstream = std::move(upstream);
  return target;
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
  const cors::PublicSuffixCheck is_public_suffix = system_public_suffixes();
  std::vector<cors::Route> routes;
  site.targets.clear();
  for (const RouteConfig& config : configs) {
    auto policy = cors::Policy::create(config.policy, is_public_suffix);
    if (auto* e = std::get_if<cors::PolicyError>(&policy))
      return where(config, *e) + ": " + e->rule + "\n  fix: " + e->fix;
    auto target = build_target(config);
    if (auto* e = std::get_if<std::string>(&target)) return *e;
    routes.push_back(cors::Route{config.path, std::get<cors::Policy>(std::move(policy)), site.targets.size()});
    site.targets.push_back(std::get<app::RouteTarget>(std::move(target)));
  }
  auto table = cors::RouteTable::create(std::move(routes));
  if (auto* e = std::get_if<cors::RouteError>(&table)) {
    const RouteConfig& config = configs[e->index];
    const std::string at = config.file.empty() ? std::string("route") : config.file + ":" + std::to_string(config.line);
    return at + ": " + e->rule + "\n  fix: " + e->fix;
  }
  site.routes = std::get<cors::RouteTable>(std::move(table));
  return site;
}

}  // namespace corsd::cli
