#include "corsd/cors/detail/audit.hpp"

#include <algorithm>
#include <array>

#include "corsd/cors/detail/token.hpp"

namespace corsd::cors::audit {
namespace {

// A name under .example (RFC 2606): nobody's site.
constexpr std::string_view kEvil = "corsd-audit.example";

struct OriginParts {
  std::string scheme;  // "https"
  std::string host;
  std::string port;  // ":8443" or empty
};

std::optional<OriginParts> split(std::string_view origin) {
  const std::size_t sep = origin.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  OriginParts p;
  p.scheme = std::string(origin.substr(0, sep));
  std::string_view rest = origin.substr(sep + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  const std::size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos && rest.find(']', colon) == std::string_view::npos) {
    p.port = std::string(rest.substr(colon));
    rest = rest.substr(0, colon);
  }
  p.host = std::string(rest);
  if (p.host.empty()) return std::nullopt;
  return p;
}

// The look-alikes of one trusted origin, each with the check it fools.
void look_alikes(const OriginParts& o, std::vector<Probe>& out) {
  const std::string base = o.scheme + "://";
  const std::string& host = o.host;
  out.push_back({base + host + "." + std::string(kEvil) + o.port, Class::prefix_match});
  // "corsdauditexample.com" fools a check of the end of the registrable
  // domain; "corsdauditapp.example.com", a sibling subdomain, one of the
  // end of the host (and `*.example.com` patterns, rightly, as a subdomain).
  const std::size_t first_dot = host.find('.');
  const bool has_parent = first_dot != std::string::npos && host.find('.', first_dot + 1) != std::string::npos;
  const std::string parent = has_parent ? host.substr(first_dot + 1) : host;
  out.push_back({base + "corsdaudit" + parent + o.port, Class::suffix_match});
  if (has_parent) out.push_back({base + "corsdaudit" + host + o.port, Class::any_subdomain});
  if (const std::size_t dot = host.find('.'); dot != std::string::npos) {
    std::string x = host;
    x[dot] = 'x';
    out.push_back({base + x + o.port, Class::unescaped_dot});
  }
  if (host.size() > 3) out.push_back({base + host.substr(0, host.size() - 1) + o.port, Class::substring_match});
  out.push_back({base + "corsd-audit." + host + o.port, Class::any_subdomain});
  if (o.scheme == "https") out.push_back({"http://" + host + o.port, Class::http_trusted});
  out.push_back({base + host + "_." + std::string(kEvil) + o.port, Class::special_characters});
  out.push_back({base + host + "`." + std::string(kEvil) + o.port, Class::special_characters});
  out.push_back({base + host + "%60." + std::string(kEvil) + o.port, Class::special_characters});
}

constexpr std::string_view kClassNames[] = {
    "origin_reflection",
    "null_trusted",
    "prefix_match",
    "suffix_match",
    "unescaped_dot",
    "substring_match",
    "any_subdomain",
    "http_trusted",
    "special_characters",
    "third_party_trusted",
    "wildcard_with_credentials",
    "invalid_allow_origin",
    "missing_vary_origin",
    "reflected_allow_methods",
    "reflected_allow_headers",
    "wildcard_allow_lists_with_credentials",
    "preflight_invalid_status",
    "preflight_redirect",
};
constexpr std::string_view kSeverityNames[] = {"info", "low", "medium", "high", "critical"};

bool is_origin_class(Class c) noexcept { return c <= Class::third_party_trusted; }

// How bad accepting a probe of class `c` is, with credentials or without:
// without, a page elsewhere reads only what anyone could fetch anyway.
Severity severity_of(Class c, bool credentials) noexcept {
  if (!credentials) return Severity::low;
  switch (c) {
    case Class::origin_reflection: return Severity::critical;
    case Class::any_subdomain:
    case Class::http_trusted: return Severity::medium;
    default: return Severity::high;
  }
}

std::string explain(Class c, const std::string& origin) {
  switch (c) {
    case Class::origin_reflection: return "any origin is echoed in Access-Control-Allow-Origin (" + origin + " was)";
    case Class::null_trusted:
      return "Origin: null is accepted; sandboxed iframes and file: pages, which anyone can make, send it";
    case Class::prefix_match: return origin + " is accepted: the origin is checked by its start only";
    case Class::suffix_match: return origin + " is accepted: the origin is checked by its end only";
    case Class::unescaped_dot: return origin + " is accepted: a regular expression's '.' matches any character";
    case Class::substring_match: return origin + " is accepted: part of the trusted host is enough";
    case Class::any_subdomain:
      return origin + " is accepted: every subdomain is trusted, so one XSS or taken-over subdomain reads the API";
    case Class::http_trusted:
      return origin + " is accepted: a plain-http page, which anyone on the network path can forge, reads the API";
    case Class::special_characters: return origin + " is accepted: characters after the trusted host are not checked";
    case Class::third_party_trusted: return origin + " is accepted: anyone can publish pages there";
    default: return {};
  }
}

std::string origins_fix(std::string_view page_origin) {
  const std::string example = page_origin.empty() ? "https://app.example.com" : std::string(page_origin);
  return "list the exact origins of the pages that call the API, e.g. allow_origins = [\"" + example +
         "\"]; corsd compares origins byte for byte and never echoes one it does not list";
}

std::optional<std::string> value(const browser::Response& r, std::string_view name) { return r.find(name); }

std::vector<browser::Header> evidence(const browser::Response& r) {
  std::vector<browser::Header> lines;
  for (const auto& h : r.headers) {
    const std::string name = ascii_lowercase(h.name);
    if (name.starts_with("access-control-") || name == "vary" || name == "location") lines.push_back(h);
  }
  return lines;
}

class Collector {
 public:
  // `answers_differ`: whether the GETs' Access-Control-Allow-Origin values
  // differ between probes (a static value needs no Vary, Fetch §3.2.5).
  Collector(std::string_view page_origin, bool answers_differ)
      : page_origin_(page_origin), answers_differ_(answers_differ) {}

  void add(Class c, Severity s, const Observation& o, std::string explanation, std::string fix) {
    if (std::any_of(found_.begin(), found_.end(), [c](const Finding& f) { return f.what == c; })) return;
    found_.push_back({c, s, o.probe.origin, o.preflight, evidence(o.response), std::move(explanation), std::move(fix)});
  }

  void look(const Observation& o) {
    const browser::Response& r = o.response;
    const std::string allow_origin = value(r, "access-control-allow-origin").value_or("");
    const bool credentials = value(r, "access-control-allow-credentials").value_or("") == "true";
    if (o.probe.shows && allow_origin == o.probe.origin) {
      add(*o.probe.shows, severity_of(*o.probe.shows, credentials), o, explain(*o.probe.shows, o.probe.origin),
          origins_fix(page_origin_));
    }
    look_at_values(o, allow_origin, credentials);
    if (o.preflight) look_at_preflight(o, allow_origin, credentials);
  }

  void fold(Class kept, Class implied) {
    const bool found = std::any_of(found_.begin(), found_.end(), [kept](const Finding& f) { return f.what == kept; });
    if (found) std::erase_if(found_, [implied](const Finding& f) { return f.what == implied; });
  }

  std::vector<Finding> take() {
    const bool reflection =
        std::any_of(found_.begin(), found_.end(), [](const Finding& f) { return f.what == Class::origin_reflection; });
    if (reflection) {
      std::erase_if(found_, [](const Finding& f) {
        return is_origin_class(f.what) && f.what != Class::origin_reflection && f.what != Class::null_trusted;
      });
    }
    // One mistake, one finding: a check of the start also lets `_` and a
    // backtick through; one of the end also every subdomain and look-alike.
    fold(Class::prefix_match, Class::special_characters);
    fold(Class::suffix_match, Class::any_subdomain);
    fold(Class::suffix_match, Class::unescaped_dot);  // appxexample.com ends with example.com too
    std::stable_sort(found_.begin(), found_.end(),
                     [](const Finding& a, const Finding& b) { return a.severity > b.severity; });
    return std::move(found_);
  }

 private:
  void look_at_values(const Observation& o, const std::string& allow_origin, bool credentials) {
    if (allow_origin == "*" && credentials) {
      add(Class::wildcard_with_credentials, Severity::medium, o,
          "`Access-Control-Allow-Origin: *` with `Access-Control-Allow-Credentials: true`: browsers refuse every "
          "credentialed request, so the API is broken rather than open",
          "with credentials, answer each listed origin by name: allow_origins = [\"...\"], allow_credentials = true");
    }
    if (!allow_origin.empty() && allow_origin != "*" && allow_origin != "null" &&
        (allow_origin.find_first_of(", ") != std::string::npos || allow_origin.find("://") == std::string::npos)) {
      add(Class::invalid_allow_origin, Severity::medium, o,
          "Access-Control-Allow-Origin is \"" + allow_origin +
              "\": browsers accept exactly one origin or `*`, so every request fails",
          "answer with the one origin of the request, when it is allowed (corsd does)");
    }
    const bool echoed = !allow_origin.empty() && allow_origin != "*" && allow_origin == o.probe.origin;
    const std::string vary = value(o.response, "vary").value_or("");
    const bool varies = list_contains(vary, "origin") || list_contains(vary, "*");
    if (!o.preflight && echoed && !varies && answers_differ_) {
      add(Class::missing_vary_origin, Severity::medium, o,
          "the answer depends on the origin but has no `Vary: Origin`: a shared cache or CDN may hand one page's "
          "answer to another origin",
          "add Origin to Vary on every answer that echoes an origin (corsd always does)");
    }
  }

  void look_at_preflight(const Observation& o, const std::string& allow_origin, bool credentials) {
    const browser::Response& r = o.response;
    const std::string methods = value(r, "access-control-allow-methods").value_or("");
    const std::string headers = value(r, "access-control-allow-headers").value_or("");
    const Severity reflected = credentials ? Severity::medium : Severity::low;
    if (list_contains(methods, kProbeMethod)) {
      add(Class::reflected_allow_methods, reflected, o,
          "Access-Control-Allow-Methods echoes whatever method the preflight asks for (" + std::string(kProbeMethod) +
              " was)",
          "list the methods the API serves: allow_methods = [\"PUT\", \"DELETE\"]");
    }
    if (list_contains(headers, kProbeHeader)) {
      add(Class::reflected_allow_headers, reflected, o,
          "Access-Control-Allow-Headers echoes whatever headers the preflight asks for (" + std::string(kProbeHeader) +
              " was)",
          "list the headers the API reads: allow_headers = [\"content-type\", \"authorization\"]");
    }
    if (credentials && (list_contains(methods, "*") || list_contains(headers, "*"))) {
      add(Class::wildcard_allow_lists_with_credentials, Severity::info, o,
          "`*` in Access-Control-Allow-Methods or -Headers with credentials: browsers take it as a literal name, "
          "so it allows nothing",
          "list the methods and headers by name when credentials are allowed");
    }
    if (r.redirect) {
      add(Class::preflight_redirect, Severity::low, o,
          "the preflight is redirected: browsers never follow a preflight's redirect, so every preflighted request "
          "fails",
          "answer OPTIONS at this URL itself (corsd answers preflights before any redirect)");
    } else if (!allow_origin.empty() && (r.status < 200 || r.status > 299)) {
      add(Class::preflight_invalid_status, Severity::low, o,
          "the preflight is answered with status " + std::to_string(r.status) +
              ": browsers need 200-299, so every preflighted request fails",
          "answer OPTIONS with 204 (corsd does, for every route with a policy)");
    }
  }

  std::string page_origin_;
  bool answers_differ_;
  std::vector<Finding> found_;
};

bool gets_differ(const std::vector<Observation>& observations) {
  std::optional<std::string> first;
  for (const Observation& o : observations) {
    if (o.preflight) continue;
    const std::string allow_origin = o.response.find("access-control-allow-origin").value_or("");
    if (!first) first = allow_origin;
    if (allow_origin != *first) return true;
  }
  return false;
}

}  // namespace

std::string_view class_name(Class c) noexcept { return kClassNames[static_cast<std::size_t>(c)]; }
std::string_view severity_name(Severity s) noexcept { return kSeverityNames[static_cast<std::size_t>(s)]; }

std::optional<Severity> severity_from(std::string_view name) noexcept {
  for (std::size_t i = 0; i < std::size(kSeverityNames); ++i) {
    if (kSeverityNames[i] == name) return static_cast<Severity>(i);
  }
  return std::nullopt;
}

std::vector<Probe> probes(std::string_view target_origin, std::string_view page_origin) {
  std::vector<Probe> out;
  // Baselines: the pages' origin and the target's own (whether CORS is on).
  if (!page_origin.empty()) out.push_back({std::string(page_origin), std::nullopt});
  out.push_back({std::string(target_origin), std::nullopt});
  out.push_back({"https://" + std::string(kEvil), Class::origin_reflection});
  out.push_back({"null", Class::null_trusted});
  for (const std::string_view trusted : {page_origin, target_origin}) {
    if (auto parts = split(trusted)) look_alikes(*parts, out);
  }
  for (const char* host : {"https://corsd-audit.github.io", "https://codepen.io", "https://jsfiddle.net"}) {
    out.push_back({host, Class::third_party_trusted});
  }
  // The same look-alike of both hosts (when they are one) is sent once.
  std::vector<Probe> unique;
  for (auto& p : out) {
    const bool seen = std::any_of(unique.begin(), unique.end(), [&](const Probe& u) { return u.origin == p.origin; });
    if (!seen) unique.push_back(std::move(p));
  }
  return unique;
}

std::vector<Finding> findings(const std::vector<Observation>& observations, std::string_view page_origin) {
  Collector collector(page_origin, gets_differ(observations));
  for (const Observation& o : observations) collector.look(o);
  return collector.take();
}

}  // namespace corsd::cors::audit
