#include "settings.hpp"

#include "corsd/config/detail/setting_field.hpp"
#include "corsd/cors/detail/origin.hpp"
#include "corsd/proxy/upstream.hpp"

// Every setting of corsd, in the order --help, --check-config and the
// README list them. The [[routes]] keys are corsd::config's
// (src/config/route_settings.cpp): hosts of the library read them too.

namespace corsd::http {
// The names of the enums settings choose from, found beside each enum.
inline constexpr std::string_view kAccessLogFormats[] = {"json", "combined"};
constexpr std::span<const std::string_view> names_of(AccessLogFormat) { return kAccessLogFormats; }
}  // namespace corsd::http

namespace corsd::cli {

inline constexpr std::string_view kLogLevels[] = {"info", "debug"};
constexpr std::span<const std::string_view> names_of(LogLevel) { return kLogLevels; }

namespace {

using http::kAccessLogFormats;

template <auto... Members>
ServerSetting server(ServerSetting s) {
  return config::setting_field::bind<Options, Members...>(s);
}

template <auto... Members>
CertificateSetting certificate(CertificateSetting s) {
  return config::setting_field::bind<http::TlsCertificate, Members...>(s);
}

std::optional<Problem> check_ip_address(std::string_view text) {
  if (!proxy::parse_address(text).empty()) return std::nullopt;
  return Problem{"\"" + std::string(text) + "\" is not an IP address",
                 "list the addresses of the proxies in front of corsd, e.g. \"10.0.0.2\" or \"::1\""};
}

// An SNI name: a DNS name (RFC 1035 limits) or "*." before one.
std::optional<Problem> check_server_name(std::string_view text) {
  std::string_view name = text.starts_with("*.") ? text.substr(2) : text;
  bool ok = !name.empty() && name.size() <= cors::kMaxDomain;
  for (std::size_t at = 0; ok && at <= name.size();) {
    const std::size_t dot = std::min(name.find('.', at), name.size());
    const std::string_view label = name.substr(at, dot - at);
    ok = !label.empty() && label.size() <= cors::kMaxLabel && label.front() != '-' && label.back() != '-' &&
         std::all_of(label.begin(), label.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
         });
    at = dot + 1;
  }
  if (ok) return std::nullopt;
  return Problem{"\"" + std::string(text) + "\" is not a host name",
                 "write names as clients ask for them, e.g. \"api.example.com\" or \"*.example.com\""};
}

constexpr std::int64_t kDay = 86'400'000;  // in milliseconds: the longest timeout

using http::Limits;
using proxy::ProxySettings;
using A = Applies;
using T = Type;

const ServerSetting kServerSettings[] = {
    // [server]
    server<&Options::api>({.section = "server",
                           .key = "listen",
                           .flag = "--listen",
                           .type = T::address,
                           .help = "Address of the API origin",
                           .applies = A::on_restart}),
    server<&Options::threads>({.section = "server",
                               .key = "threads",
                               .flag = "--threads",
                               .type = T::integer,
                               .help = "Worker threads, each with its own event loop",
                               .applies = A::on_restart,
                               .min = 1,
                               .max = 256,
                               .default_text = "one per core"}),
    server<&Options::limits, &Limits::body_bytes>({.section = "server",
                                                   .key = "max_body",
                                                   .flag = "--max-body",
                                                   .type = T::integer,
                                                   .help = "Largest request body in bytes; a larger one gets 413",
                                                   .applies = A::on_restart,
                                                   .min = 0,
                                                   .max = std::int64_t{1} << 40}),
    server<&Options::limits, &Limits::header_bytes>(
        {.section = "server",
         .key = "max_header_bytes",
         .flag = "--max-header-bytes",
         .type = T::integer,
         .help = "Largest request header block in bytes; a larger one gets 431",
         .applies = A::on_restart,
         .min = 1024,
         .max = 1024 * 1024}),
    server<&Options::limits, &Limits::connections_per_thread>({.section = "server",
                                                               .key = "max_connections",
                                                               .flag = "--max-connections",
                                                               .type = T::integer,
                                                               .help = "Open connections per thread; more get 503",
                                                               .applies = A::on_restart,
                                                               .min = 1,
                                                               .max = 1'000'000}),
    server<&Options::limits, &Limits::min_body_rate>(
        {.section = "server",
         .key = "min_body_rate",
         .flag = "--min-body-rate",
         .type = T::integer,
         .help = "Slowest request body in bytes per second, over each body_timeout from its head (0: none)",
         .applies = A::on_restart,
         .min = 0,
         .max = std::int64_t{1} << 30}),
    server<&Options::limits, &Limits::header_timeout>({.section = "server",
                                                       .key = "header_timeout",
                                                       .flag = "--header-timeout",
                                                       .type = T::seconds,
                                                       .help = "Seconds a client has to send a request's headers",
                                                       .applies = A::on_restart,
                                                       .min = 1,
                                                       .max = kDay}),
    server<&Options::limits, &Limits::body_timeout>({.section = "server",
                                                     .key = "body_timeout",
                                                     .flag = "--body-timeout",
                                                     .type = T::seconds,
                                                     .help = "Longest pause in seconds while a request body arrives",
                                                     .applies = A::on_restart,
                                                     .min = 1,
                                                     .max = kDay}),
    server<&Options::limits, &Limits::idle_timeout>(
        {.section = "server",
         .key = "idle_timeout",
         .flag = "--idle-timeout",
         .type = T::seconds,
         .help = "Seconds a keep-alive connection may wait for its next request",
         .applies = A::on_restart,
         .min = 1,
         .max = kDay}),
    server<&Options::limits, &Limits::send_timeout>(
        {.section = "server",
         .key = "send_timeout",
         .flag = "--send-timeout",
         .type = T::seconds,
         .help = "Longest wait in seconds for a client to take response bytes (HTTP/2: to open its window)",
         .applies = A::on_restart,
         .min = 1,
         .max = kDay}),
    server<&Options::limits, &Limits::shutdown_grace>({.section = "server",
                                                       .key = "shutdown_timeout",
                                                       .flag = "--shutdown-timeout",
                                                       .type = T::seconds,
                                                       .help = "Seconds requests in flight get to finish after SIGTERM",
                                                       .applies = A::on_restart,
                                                       .min = 0,
                                                       .max = kDay}),
    server<&Options::tls_cert>({.section = "server",
                                .key = "tls_cert",
                                .flag = "--tls-cert",
                                .type = T::path,
                                .help = "PEM certificate (its chain after it): the API and the demo speak HTTPS"}),
    server<&Options::tls_key>({.section = "server",
                               .key = "tls_key",
                               .flag = "--tls-key",
                               .type = T::path,
                               .help = "PEM private key of tls_cert, unencrypted"}),
    server<&Options::tls_ocsp>(
        {.section = "server",
         .key = "tls_ocsp",
         .flag = "--tls-ocsp",
         .type = T::path,
         .help = "DER OCSP response for tls_cert, stapled to handshakes; refresh the file, then reload"}),
    server<&Options::http2>({.section = "server",
                             .key = "http2",
                             .flag = "--no-http2",
                             .type = T::boolean,
                             .help = "Offer HTTP/2 (ALPN h2) on HTTPS listeners; --no-http2 offers HTTP/1.1 only",
                             .flag_negates = true}),
    server<&Options::limits, &Limits::h2_max_streams>(
        {.section = "server",
         .key = "max_concurrent_streams",
         .flag = "--max-concurrent-streams",
         .type = T::integer,
         .help = "HTTP/2 streams a client may have open at once; more are refused (REFUSED_STREAM)",
         .applies = A::on_restart,
         .min = 1,
         .max = 1000}),
    server<&Options::limits, &Limits::h2_free_frame_burst>(
        {.section = "server",
         .key = "h2_flood_burst",
         .flag = "--h2-flood-burst",
         .type = T::integer,
         .help = "HTTP/2 streams reset at once and empty DATA frames a client may send in a burst (rapid reset)",
         .applies = A::on_restart,
         .min = 1,
         .max = 1'000'000}),
    server<&Options::limits, &Limits::h2_free_frames_per_second>(
        {.section = "server",
         .key = "h2_flood_rate",
         .flag = "--h2-flood-rate",
         .type = T::integer,
         .help = "... and then a second; more get GOAWAY(ENHANCE_YOUR_CALM)",
         .applies = A::on_restart,
         .min = 1,
         .max = 1'000'000}),
    server<&Options::log_level>({.section = "server",
                                 .key = "log_level",
                                 .flag = "--log-level",
                                 .type = T::choice,
                                 .help = "info, or debug to log every CORS rejection with its reason",
                                 .applies = A::on_restart,
                                 .choices = kLogLevels}),
    // [demo]
    server<&Options::demo_enabled>({.section = "demo",
                                    .key = "enabled",
                                    .flag = "--no-demo",
                                    .type = T::boolean,
                                    .help = "Serve the demo page; --no-demo serves the API only. With a config "
                                            "file, only where it has a [demo] section or a --demo-* flag is given",
                                    .applies = A::on_restart,
                                    .flag_negates = true}),
    server<&Options::demo>(
        {"demo", "listen", "--demo-listen", T::address, "Address of the demo page's origin", A::on_restart}),
    server<&Options::demo_root>({.section = "demo",
                                 .key = "root",
                                 .flag = "--demo-root",
                                 .type = T::path,
                                 .help = "Folder holding the demo's index.html",
                                 .applies = A::on_restart,
                                 .default_text = "the installed demo, else the source tree's"}),
    server<&Options::jquery>({.section = "demo",
                              .key = "jquery",
                              .flag = "--jquery",
                              .type = T::path,
                              .help = "jQuery file the demo page loads",
                              .applies = A::on_restart,
                              .default_text = "the installed copy, else the source tree's npm copy"}),
    server<&Options::demo_api_origin>({.section = "demo",
                                       .key = "api_origin",
                                       .flag = "--demo-api-origin",
                                       .type = T::text,
                                       .help = "Origin the demo page calls",
                                       .applies = A::on_restart,
                                       .default_text = "the API's own, from listen"}),
    // [admin]
    server<&Options::admin>({.section = "admin",
                             .key = "listen",
                             .flag = "--admin-listen",
                             .type = T::address,
                             .help = "Address of /metrics, /livez and /readyz; off unless set",
                             .applies = A::on_restart}),
    // [proxy]
    server<&Options::proxy, &ProxySettings::connect_timeout>({.section = "proxy",
                                                              .key = "connect_timeout",
                                                              .flag = "--upstream-connect-timeout",
                                                              .type = T::seconds,
                                                              .help = "Seconds to connect to an upstream",
                                                              .min = 1,
                                                              .max = kDay}),
    server<&Options::proxy, &ProxySettings::response_timeout>(
        {"proxy", "response_timeout", "--upstream-response-timeout", T::seconds,
         "Longest silence of an upstream in seconds while its answer is awaited", A::on_reload, 1, kDay}),
    server<&Options::proxy, &ProxySettings::idle_timeout>(
        {"proxy", "idle_timeout", "--upstream-idle-timeout", T::seconds,
         "Seconds an idle upstream connection is kept for reuse", A::on_reload, 1, kDay}),
    server<&Options::proxy, &ProxySettings::idle_connections>(
        {"proxy", "idle_connections", "--upstream-idle-connections", T::integer,
         "Idle upstream connections kept per thread and upstream (0: no reuse)", A::on_reload, 0, 10000}),
    server<&Options::proxy, &ProxySettings::trusted_proxies>(
        {"proxy",
         "trusted_proxies",
         "--trusted-proxy",
         T::list,
         "Peer addresses whose X-Forwarded-* fields are kept and appended to",
         A::on_reload,
         0,
         0,
         {},
         {},
         false,
         check_ip_address}),
    server<&Options::proxy, &ProxySettings::upstream_tls, &http::TlsClientConfig::ca_file>(
        {"proxy", "upstream_ca", "--upstream-ca", T::path,
         "PEM authorities that https:// upstreams' certificates are verified against; empty: the system's"}),
    server<&Options::proxy, &ProxySettings::upstream_tls, &http::TlsClientConfig::cert_file>(
        {"proxy", "upstream_cert", "--upstream-cert", T::path,
         "PEM client certificate shown to https:// upstreams that ask for one"}),
    server<&Options::proxy, &ProxySettings::upstream_tls, &http::TlsClientConfig::key_file>(
        {"proxy", "upstream_key", "--upstream-key", T::path, "PEM private key of upstream_cert, unencrypted"}),
    // [access_log]
    server<&Options::access_log, &AccessLogOptions::path>(
        {"access_log", "path", "--access-log", T::path,
         "File to append one line per request to; \"-\": standard output; empty: off", A::on_reload}),
    server<&Options::access_log, &AccessLogOptions::format>(
        {.section = "access_log",
         .key = "format",
         .flag = "--access-log-format",
         .type = T::choice,
         .help = "Line format: JSON lines, or the combined log format",
         .choices = kAccessLogFormats}),
};

using cors::PolicySpec;

const CertificateSetting kCertificateSettings[] = {
    certificate<&http::TlsCertificate::cert_file>({.section = "tls.certificates",
                                                   .key = "cert",
                                                   .type = T::path,
                                                   .help = "PEM certificate (its chain after it) for server_names"}),
    certificate<&http::TlsCertificate::key_file>(
        {.section = "tls.certificates", .key = "key", .type = T::path, .help = "PEM private key of cert, unencrypted"}),
    certificate<&http::TlsCertificate::server_names>(
        {.section = "tls.certificates",
         .key = "server_names",
         .type = T::list,
         .help = "Names (SNI) this certificate answers; [server] tls_cert answers the others",
         .check_element = check_server_name}),
    certificate<&http::TlsCertificate::ocsp_file>({.section = "tls.certificates",
                                                   .key = "ocsp",
                                                   .type = T::path,
                                                   .help = "DER OCSP response for cert, stapled to handshakes"}),
};

}  // namespace

std::span<const ServerSetting> server_settings() { return kServerSettings; }
std::span<const CertificateSetting> certificate_settings() { return kCertificateSettings; }

}  // namespace corsd::cli
