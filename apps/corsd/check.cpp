#include "check.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "corsd/cors/detail/browser.hpp"
#include "corsd/cors/detail/token.hpp"
#include "corsd/http/client.hpp"
#include "json.hpp"
#include "subcommand.hpp"

#ifndef CORSD_VERSION
#define CORSD_VERSION "0.0.0"
#endif

namespace corsd::cli {
namespace {

namespace browser = cors::browser;
using browser::Blocked;

struct CheckOptions {
  browser::Request request;
  browser::Browser engine = browser::Browser::chromium;
  bool json = false;
  bool insecure = false;
  double timeout_seconds = 10;
};

// One request sent and its answer, as the output shows them.
struct Step {
  std::string kind;  // "preflight" or "request"
  std::string method;
  std::string url;
  std::vector<browser::Header> sent;
  std::optional<http::ClientResponse> answer;
  browser::Failure failure;
  std::string rule;  // the rule of the Fetch Standard that decided, with its section
};

struct Outcome {
  browser::Request request;  // as last sent: redirects change its URL, method and origin
  std::vector<Step> steps;
  std::string why_preflight;  // empty: no preflight
  std::string unreachable;    // set: could not check
  browser::Failure failure;
  std::vector<std::string> readable;
  std::vector<std::string> refused_headers;  // all of them, where the message names one
  std::string corsd_fix;                     // when the server is corsd and named its reason
  std::vector<std::string> notes;
};

// Fetch §4.4: at most 20 redirects.
constexpr int kMaxRedirects = 20;

// --- Running the browser's steps ------------------------------------------

std::string why_preflight(const browser::Request& request) {
  std::string why;
  const std::string method = browser::normalize_method(request.method);
  if (!cors::is_safelisted_method(method)) why = method + " is not GET, HEAD or POST";
  for (const std::string& name : browser::unsafe_header_names(request.headers)) {
    why += (why.empty() ? "" : "; ") + ("`" + name + "` is not a CORS-safelisted request header");
  }
  return why;
}

std::optional<http::ClientResponse> send(const CheckOptions& o, const Step& step, const std::string& url,
                                         Outcome& out) {
  http::ClientRequest request;
  request.method = step.method;
  request.url = url;
  request.insecure = o.insecure;
  request.timeout = std::chrono::milliseconds(static_cast<long long>(o.timeout_seconds * 1000));
  for (const auto& h : step.sent) request.headers.emplace_back(h.name, h.value);
  request.headers.emplace_back("User-Agent", "corsd-check/" CORSD_VERSION);
  // As browsers do for a fetch() without a body (some servers refuse a PUT without it: 411 or 400).
  if (step.method == "POST" || step.method == "PUT" || step.method == "PATCH") {
    request.headers.emplace_back("Content-Length", "0");
  }
  auto result = http::fetch(request);
  if (auto* error = std::get_if<http::ClientError>(&result)) {
    out.unreachable = error->what;
    return std::nullopt;
  }
  return std::get<http::ClientResponse>(std::move(result));
}

// Sends `step` to the request's URL and judges the answer with `judge`;
// returns the answer as the browser sees it when it passed.
template <typename Judge>
std::optional<browser::Response> take_step(const CheckOptions& o, Step step, Outcome& out, Judge judge) {
  step.answer = send(o, step, step.url, out);
  if (!step.answer) return std::nullopt;
  browser::Response answer = as_browser_sees(*step.answer);
  step.failure = judge(answer);
  step.rule = browser::rule_for(step.failure, step.kind == "preflight");
  out.failure = step.failure;
  out.steps.push_back(std::move(step));
  if (out.failure) return std::nullopt;
  return answer;
}

// corsd answers a preflight it refuses with 403 and "CORS preflight rejected:
// REASON[: NAME]": the browser only sees no Access-Control-Allow-Origin,
// but the server said what its policy lacks.
void corsd_says_why(const std::string& body, Outcome& out) {
  constexpr std::string_view kLead = "CORS preflight rejected: ";
  if (!body.starts_with(kLead)) return;
  const std::string line = body.substr(kLead.size(), body.find('\n') - kLead.size());
  const std::size_t colon = line.find(": ");
  const std::string reason = line.substr(0, colon);
  const std::string name = colon == std::string::npos ? "" : line.substr(colon + 2);
  out.notes.push_back("the server is corsd (or uses its engine), and its answer says why it refused: " + line);
  if (reason == "header_not_allowed") out.corsd_fix = "add \"" + name + "\" to the route's allow_headers";
  if (reason == "method_not_allowed") out.corsd_fix = "add \"" + name + "\" to the route's allow_methods";
  if (reason == "origin_not_allowed") out.corsd_fix = "add \"" + out.request.origin + "\" to the route's allow_origins";
  if (reason == "private_network_not_allowed") out.corsd_fix = "set allow_private_network = true on the route";
}

// The fix to print: corsd's own words when it gave them, else the browser's rule's.
std::string fix_of(const Outcome& out) {
  return out.corsd_fix.empty() ? browser::fix_for(out.request, out.failure) : out.corsd_fix;
}

bool preflight(const CheckOptions& o, Outcome& out) {
  const browser::Request& r = out.request;
  Step step{"preflight", "OPTIONS", r.url, browser::preflight_headers(r), {}, {}, {}};
  const auto answer =
      take_step(o, std::move(step), out, [&](const browser::Response& a) { return check_preflight(o.engine, r, a); });
  if (!answer) {
    const Step& last = out.steps.back();
    if (last.answer) corsd_says_why(last.answer->body, out);
    if (last.answer && out.failure.blocked == Blocked::header_disallowed_by_preflight_response) {
      out.refused_headers = browser::refused_headers(o.engine, r, as_browser_sees(*last.answer));
    }
    return false;
  }
  out.notes.push_back("the browser caches this preflight for " +
                      std::to_string(browser::preflight_cache_time(o.engine, *answer).count()) + " s");
  const auto names = browser::unsafe_header_names(r.headers);
  const bool listed = cors::list_contains(answer->find("access-control-allow-headers").value_or(""), "authorization");
  if (std::find(names.begin(), names.end(), "authorization") != names.end() && !listed) {
    out.notes.push_back(
        "only `*` covers Authorization here: Chromium and Firefox still let it through (Firefox warns that it soon "
        "will not), the Fetch Standard does not; list authorization in Access-Control-Allow-Headers by name");
  }
  return true;
}

std::string origin_of(const std::string& url) {
  const std::size_t scheme = url.find("://");
  const std::size_t path = url.find_first_of("/?#", scheme == std::string::npos ? 0 : scheme + 3);
  return url.substr(0, path);
}

// Fetch §4.4 HTTP-redirect fetch: where `location` leads from `url`.
std::string resolve(const std::string& url, const std::string& location) {
  if (location.starts_with("http://") || location.starts_with("https://")) return location;
  if (location.starts_with("//")) return url.substr(0, url.find("//")) + location;
  if (location.starts_with("/")) return origin_of(url) + location;
  const std::string base = url.substr(0, url.find_first_of("?#"));
  return base.substr(0, base.rfind('/') + 1) + location;
}

// The request the browser sends after `status` to `location`: 303 (and 301
// and 302 after a POST) becomes a GET without its body's headers; an origin
// that a redirect to elsewhere crossed becomes "null".
void follow(browser::Request& r, unsigned status, const std::string& location) {
  const std::string next = resolve(r.url, location);
  const std::string method = browser::normalize_method(r.method);
  if ((status == 303 && method != "GET" && method != "HEAD") ||
      ((status == 301 || status == 302) && method == "POST")) {
    r.method = "GET";
    std::erase_if(r.headers, [](const browser::Header& h) {
      for (const char* name : {"content-encoding", "content-language", "content-location", "content-type"}) {
        if (cors::ascii_iequals(h.name, name)) return true;
      }
      return false;
    });
  }
  if (origin_of(next) != origin_of(r.url) && r.origin != origin_of(r.url)) r.origin = "null";
  if (r.redirected_from.empty()) r.redirected_from = r.url;
  r.url = next;
}

// Sends what the browser would and judges each answer, up to the first
// block, following redirects as the browser does.
Outcome run(const CheckOptions& o) {
  Outcome out;
  out.request = o.request;
  for (const auto& h : o.request.headers) {
    if (cors::is_forbidden_request_header(h.name)) {
      out.notes.push_back("`" + h.name + "` is a forbidden request header: fetch() leaves it out, so it is not sent");
    }
  }
  out.why_preflight = browser::needs_preflight(o.request) ? why_preflight(o.request) : "";
  if (o.insecure && o.request.url.starts_with("https:")) {
    out.notes.push_back(
        "--insecure: the server's TLS certificate was NOT verified; a browser would refuse an "
        "untrusted one before any CORS check");
  }
  for (int hop = 0; hop <= kMaxRedirects; ++hop) {
    if (browser::needs_preflight(out.request) && !preflight(o, out)) return out;
    const browser::Request& r = out.request;
    Step step{"request",
              browser::normalize_method(r.method),
              r.url,
              browser::actual_headers(r),
              {},
              {},
              "Fetch Standard §4.9"};
    const auto answer = take_step(o, std::move(step), out,
                                  [&](const browser::Response& a) { return browser::check_actual(o.engine, r, a); });
    if (!answer) return out;
    if (!answer->redirect) {
      out.readable = browser::readable_headers(r, *answer);
      const std::string allow_origin = answer->find("access-control-allow-origin").value_or("");
      if (allow_origin != "*" && !cors::list_contains(answer->find("vary").value_or(""), "origin")) {
        out.notes.push_back(
            "the answer names the origin but has no `Vary: Origin`: a shared cache may hand it to another origin");
      }
      return out;
    }
    const std::string location = answer->find("location").value_or("");
    follow(out.request, answer->status, location);
    out.notes.push_back("a " + std::to_string(answer->status) + " redirect to " + out.request.url +
                        ": the browser follows it");
  }
  out.unreachable = "more than " + std::to_string(kMaxRedirects) + " redirects";
  return out;
}

// --- Output -----------------------------------------------------------------

std::string json_headers(const std::vector<std::pair<std::string, std::string>>& headers) {
  return json_list(headers,
                   [](const auto& h) { return "[" + json_string(h.first) + "," + json_string(h.second) + "]"; });
}

std::string json_step(const Step& s) {
  std::vector<std::pair<std::string, std::string>> sent;
  for (const auto& h : s.sent) sent.emplace_back(h.name, h.value);
  std::string out = "{\"kind\":" + json_string(s.kind) + ",\"method\":" + json_string(s.method) +
                    ",\"url\":" + json_string(s.url) + ",\"sent\":" + json_headers(sent);
  if (s.answer) {
    out += ",\"status\":" + std::to_string(s.answer->status) + ",\"received\":" + json_headers(s.answer->headers);
  }
  out +=
      ",\"blocked_by\":" + (s.failure ? json_string(browser::blocked_name(s.failure.blocked)) : std::string("null")) +
      ",\"rule\":" + json_string(s.rule) + "}";
  return out;
}

void print_json(const CheckOptions& o, const Outcome& out) {
  const bool blocked = static_cast<bool>(out.failure);
  const auto or_null = [](bool set, const std::string& text) { return set ? json_string(text) : std::string("null"); };
  std::cout << "{\"verdict\":"
            << json_string(!out.unreachable.empty() ? "unreachable"
                           : blocked                ? "blocked"
                                                    : "allowed")
            << ",\"preflight\":" << (out.why_preflight.empty() ? "false" : "true")
            << ",\"blocked_by\":" << or_null(blocked, std::string(browser::blocked_name(out.failure.blocked)))
            << ",\"message\":" << or_null(blocked, browser::console_message(o.engine, out.request, out.failure))
            << ",\"fix\":" << or_null(blocked, fix_of(out))
            << ",\"error\":" << or_null(!out.unreachable.empty(), out.unreachable)
            << ",\"steps\":" << json_list(out.steps, json_step)
            << ",\"readable_headers\":" << json_list(out.readable, json_string)
            << ",\"refused_headers\":" << json_list(out.refused_headers, json_string)
            << ",\"notes\":" << json_list(out.notes, json_string) << "}\n";
}

// A body worth showing: one short line of text (corsd's 403 names its reason).
std::string short_text(const std::string& body) {
  std::string line = body.substr(0, body.find('\n'));
  const bool printable = std::all_of(line.begin(), line.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
  return printable && line.size() <= 160 ? line : std::string();
}

void print_step(std::size_t n, const Step& s) {
  std::cout << n << ". " << (s.kind == "preflight" ? "the preflight" : "the request") << ":\n";
  std::cout << "   > " << s.method << ' ' << s.url << '\n';
  for (const auto& h : s.sent) std::cout << "   > " << h.name << ": " << h.value << '\n';
  if (!s.answer) return;
  std::cout << "   < " << s.answer->status << ' ' << s.answer->reason << '\n';
  for (const auto& [name, value] : s.answer->headers) std::cout << "   < " << name << ": " << value << '\n';
  if (const std::string body = short_text(s.answer->body); !body.empty()) std::cout << "   < (body) " << body << '\n';
  std::cout << "   " << (s.failure ? "blocked: " + std::string(browser::blocked_name(s.failure.blocked)) : "passed")
            << " (" << s.rule << ")\n";
}

// When several headers are refused: the browser names one, the fix needs all.
std::string refused_text(const Outcome& out) {
  if (out.refused_headers.size() < 2) return {};
  std::string names;
  for (const auto& n : out.refused_headers) names += (names.empty() ? "" : ", ") + ("`" + n + "`");
  return "\nall the headers the preflight's answer refuses: " + names;
}

void print_text(const CheckOptions& o, const Outcome& out) {
  const browser::Request& r = o.request;
  std::cout << "corsd check: " << browser::normalize_method(r.method) << ' ' << r.url << " from " << r.origin
            << (r.credentials ? " with credentials" : "") << '\n';
  std::cout << (out.why_preflight.empty() ? "no preflight: a simple request\n"
                                          : "a preflight first: " + out.why_preflight + '\n');
  for (std::size_t i = 0; i < out.steps.size(); ++i) print_step(i + 1, out.steps[i]);
  for (const auto& note : out.notes) std::cout << "note: " << note << '\n';
  if (!out.unreachable.empty()) {
    std::cout << "could not check: " << out.unreachable << '\n';
  } else if (out.failure) {
    std::cout << "verdict: blocked (" << browser::blocked_name(out.failure.blocked) << ")\n"
              << (o.engine == browser::Browser::chromium ? "Chromium" : "Firefox") << "'s console says:\n  "
              << browser::console_message(o.engine, out.request, out.failure) << "\nfix: " << fix_of(out)
              << refused_text(out) << '\n';
  } else {
    std::string names;
    for (const auto& n : out.readable) names += (names.empty() ? "" : ", ") + n;
    std::cout << "verdict: allowed\nscript can read: " << (names.empty() ? "(no header)" : names) << '\n';
  }
}

// --- Options ------------------------------------------------------------------

std::optional<browser::Header> parse_header(const std::string& text) {
  const std::size_t colon = text.find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  const std::string name(cors::trim_ows(std::string_view(text).substr(0, colon)));
  if (!cors::is_token(name)) return std::nullopt;
  return browser::Header{name, std::string(cors::trim_ows(std::string_view(text).substr(colon + 1)))};
}

}  // namespace

int run_check(int argc, char** argv) {
  CheckOptions o;
  std::vector<std::string> headers;
  std::string engine = "chromium";
  CLI::App app{
      "corsd check: what a browser does with one fetch() from a page on --origin to URL, and why.\n"
      "Exit status: 0 allowed, 1 blocked, 2 could not check.",
      "corsd check"};
  app.add_option("url", o.request.url, "The URL script fetches (http:// or https://)")->required();
  app.add_option("--origin", o.request.origin, "The page's origin, e.g. https://app.example.com")->required();
  app.add_option("--method", o.request.method, "The request's method")->capture_default_str();
  app.add_option("--header", headers, "A header script sets, 'name: value' (repeat for more)");
  app.add_flag("--credentials", o.request.credentials, "credentials: 'include' (cookies, Authorization)");
  app.add_flag("--json", o.json, "Print one JSON object instead of text");
  app.add_option("--browser", engine, "Whose rules and messages")
      ->check(CLI::IsMember({"chromium", "firefox"}))
      ->capture_default_str();
  app.add_flag("--insecure", o.insecure, "Accept any TLS certificate (a test server's own)");
  app.add_option("--timeout", o.timeout_seconds, "Seconds for each request")->check(CLI::Range(0.1, 600.0));
  if (const auto status = parse_subcommand(app, argc, argv, "check")) return *status;
  if (!is_page_origin(o.request.origin, "check")) return 2;
  for (const auto& text : headers) {
    auto header = parse_header(text);
    if (!header) {
      std::cerr << "corsd check: error: --header \"" << text << "\" is not 'name: value'\n";
      return 2;
    }
    o.request.headers.push_back(std::move(*header));
  }
  o.engine = engine == "firefox" ? browser::Browser::firefox : browser::Browser::chromium;
  const Outcome out = run(o);
  if (o.json) {
    print_json(o, out);
  } else {
    print_text(o, out);
  }
  if (!out.unreachable.empty()) return 2;
  return out.failure ? 1 : 0;
}

}  // namespace corsd::cli
