#include "corsd/config/detail/setting_field.hpp"
#include "corsd/config/policy_file.hpp"

// The keys of a [[routes]] table, in the order --help, --check-config and
// the README list them. Their flags make the one route of corsd's command
// line.

namespace corsd::config {

inline constexpr std::string_view kHostHeaders[] = {"client", "upstream"};
constexpr std::span<const std::string_view> names_of(HostHeader) { return kHostHeaders; }

namespace {

using cors::PolicySpec;

template <auto... Members>
RouteSetting route(RouteSetting s) {
  return setting_field::bind<RouteSpec, Members...>(s);
}

const RouteSetting kRouteSettings[] = {
    route<&RouteSpec::path>(
        {.section = "routes", .key = "path", .type = Type::text, .help = "Path prefix the route serves"}),
    route<&RouteSpec::policy, &PolicySpec::allow_origins>(
        {"routes", "allow_origins", "--allow-origin", Type::list,
         "Allowed origins or patterns (https://app.example.com, https://*.example.com, http://localhost:*), or * "
         "for a public resource"}),
    route<&RouteSpec::policy, &PolicySpec::allow_credentials>({.section = "routes",
                                                               .key = "allow_credentials",
                                                               .flag = "--allow-credentials",
                                                               .type = Type::boolean,
                                                               .help = "Allow cookies and Authorization (not with *)"}),
    route<&RouteSpec::policy, &PolicySpec::allow_methods>(
        {"routes", "allow_methods", "--allow-methods", Type::list, "Methods beyond GET, HEAD and POST"}),
    route<&RouteSpec::policy, &PolicySpec::allow_headers>(
        {"routes", "allow_headers", "--allow-headers", Type::list, "Request headers scripts may send"}),
    route<&RouteSpec::policy, &PolicySpec::expose_headers>(
        {"routes", "expose_headers", "--expose-headers", Type::list, "Response headers scripts may read"}),
    route<&RouteSpec::policy, &PolicySpec::max_age_seconds>({.section = "routes",
                                                             .key = "max_age",
                                                             .flag = "--max-age",
                                                             .type = Type::integer,
                                                             .help = "Seconds browsers may cache a preflight",
                                                             .min = 0,
                                                             .max = 86400,
                                                             .default_text = "the browser's own"}),
    route<&RouteSpec::policy, &PolicySpec::allow_private_network>(
        {"routes", "allow_private_network", "--allow-private-network", Type::boolean,
         "Answer Access-Control-Request-Private-Network preflights"}),
    route<&RouteSpec::policy, &PolicySpec::preflight_passthrough>(
        {"routes", "preflight_passthrough", "--preflight-passthrough", Type::boolean,
         "Let the application or upstream answer accepted preflights"}),
    route<&RouteSpec::policy, &PolicySpec::dangerously_allow_insecure_origins_with_credentials>(
        {"routes", "dangerously_allow_insecure_origins_with_credentials", "", Type::boolean,
         "Allow credentials for plain-http origins other than loopback"}),
    route<&RouteSpec::upstream>(
        {.section = "routes",
         .key = "upstream",
         .flag = "--upstream",
         .type = Type::text,
         .help = "API to forward to (http://HOST:PORT or https://HOST:PORT); empty: the built-in echo API"}),
    route<&RouteSpec::host_header>({.section = "routes",
                                    .key = "host_header",
                                    .flag = "--host-header",
                                    .type = Type::choice,
                                    .help = "Host sent upstream: the client's, or the upstream's own",
                                    .choices = kHostHeaders}),
};

constexpr std::string_view kSections[] = {"server", "demo", "admin", "proxy", "access_log", "routes", "tls"};

}  // namespace

std::span<const RouteSetting> route_settings() { return kRouteSettings; }
std::span<const std::string_view> config_sections() { return kSections; }

}  // namespace corsd::config
