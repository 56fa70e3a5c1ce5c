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

}  // namespace

std::variant<cors::RouteTable, std::string> build_routes(const std::vector<RouteConfig>& configs) {
  if (configs.empty()) return cors::RouteTable::seed();
  const cors::PublicSuffixCheck is_public_suffix = system_public_suffixes();
  std::vector<cors::Route> routes;
  for (const RouteConfig& config : configs) {
    auto policy = cors::Policy::create(config.policy, is_public_suffix);
    if (auto* e = std::get_if<cors::PolicyError>(&policy)) return where(config, *e) + ": " + e->rule + "\n  fix: " + e->fix;
    routes.push_back(cors::Route{config.path, std::get<cors::Policy>(std::move(policy))});
  }
  auto table = cors::RouteTable::create(std::move(routes));
  if (auto* e = std::get_if<cors::RouteError>(&table)) {
    const RouteConfig& config = configs[e->index];
    const std::string at = config.file.empty() ? std::string("route") : config.file + ":" + std::to_string(config.line);
    return at + ": " + e->rule + "\n  fix: " + e->fix;
  }
  return std::get<cors::RouteTable>(std::move(table));
}

}  // namespace corsd::cli
