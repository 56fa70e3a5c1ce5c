#include "options.hpp"

#include <CLI/CLI.hpp>
#include <charconv>
#include <filesystem>
#include <iostream>
#include <thread>

#include "config_file.hpp"
#include "settings.hpp"

#ifndef CORSD_VERSION
#define CORSD_VERSION "0.0.0"
#endif
#ifndef CORSD_DEFAULT_DEMO_ROOT
#define CORSD_DEFAULT_DEMO_ROOT "web/demo"
#endif
#ifndef CORSD_INSTALLED_DEMO_DIR
#define CORSD_INSTALLED_DEMO_DIR "share/corsd/demo"
#endif
#ifndef CORSD_DEFAULT_JQUERY
#define CORSD_DEFAULT_JQUERY "node_modules/jquery/dist/jquery.min.js"
#endif

namespace corsd::cli {
namespace {

struct DemoFiles {
  std::string root, jquery;
};

// The demo's page and jQuery: where `cmake --install` put them beside the
// binary (PREFIX/bin/corsd, PREFIX/share/corsd/demo), else the source tree
// this binary was built from, so a build runs the demo in place.
DemoFiles demo_files() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto installed = exe.parent_path().parent_path() / CORSD_INSTALLED_DEMO_DIR;
    if (std::filesystem::exists(installed / "index.html", ec)) {
      return {installed.string(), (installed / "jquery.min.js").string()};
    }
  }
  return {CORSD_DEFAULT_DEMO_ROOT, CORSD_DEFAULT_JQUERY};
}

}  // namespace

namespace {

// The help groups, by config-file section.
std::string group_of(std::string_view section) {
  if (section == "server") return "Server";
  if (section == "demo") return "Demo (the blog post's system)";
  if (section == "admin") return "Admin endpoints";
  if (section == "proxy") return "Reverse proxy (for routes with an upstream)";
  if (section == "access_log") return "Access log";
  return "Policy (one route for every path; instead of the demo's policy or a config file's routes)";
}

template <typename Target>
std::string type_name(const Setting<Target>& s) {
  switch (s.type) {
    case Type::choice: {
      std::string names;
      for (auto c : s.choices) names += (names.empty() ? "" : "|") + std::string(c);
      return names;
    }
    case Type::integer: return "N";
    case Type::seconds: return "SECONDS";
    case Type::address: return "HOST:PORT";
    case Type::path: return "PATH";
    case Type::list: return "LIST";
    default: return "TEXT";
  }
}

// What the command line gave for one setting's flag.
struct FlagInput {
  std::string text;
  std::vector<std::string> list;
  bool on = false;
  CLI::Option* option = nullptr;
};

// Adds the flag of each setting that has one; `inputs` holds what they get.
template <typename Target>
void add_flags(CLI::App& app, std::span<const Setting<Target>> settings, std::vector<FlagInput>& inputs) {
  for (std::size_t i = 0; i < settings.size(); ++i) {
    const Setting<Target>& s = settings[i];
    FlagInput& in = inputs[i];
    if (s.flag.empty()) continue;
    const std::string name(s.flag);
    const bool ranged = s.type == Type::integer || s.type == Type::seconds;
    const std::string help = std::string(s.help) + (ranged ? " (" + range_text(s) + ")" : "");
    if (s.type == Type::boolean) {
      in.option = app.add_flag(name, in.on, help);
    } else {
      const CLI::Validator valid(
          [&s](std::string& text) {
            auto parsed = parse_value(s, text);
            const Problem* p = std::get_if<Problem>(&parsed);
            return p ? "\"" + text + "\" " + p->what + " (" + p->fix + ")" : std::string();
          },
          "");
      in.option = s.type == Type::list ? app.add_option(name, in.list, help)->delimiter(',')
                                       : app.add_option(name, in.text, help);
      in.option->check(valid)->type_name(type_name(s));
      if (s.type != Type::list) in.option->default_str(default_text(s));
    }
    in.option->group(group_of(s.section));
  }
}

// Stores the value of each flag given into `target`.
template <typename Target>
void apply_flags(std::span<const Setting<Target>> settings, const std::vector<FlagInput>& inputs, Target& target) {
  for (std::size_t i = 0; i < settings.size(); ++i) {
    const Setting<Target>& s = settings[i];
    const FlagInput& in = inputs[i];
    if (in.option == nullptr || in.option->count() == 0) continue;
    if (s.type == Type::boolean) {
      s.store(target, Value(!s.flag_negates));
    } else if (s.type == Type::list) {
      s.store(target, Value(in.list));
    } else {
      s.store(target, std::get<Value>(parse_value(s, in.text)));
    }
  }
}

bool any_given(const std::vector<FlagInput>& inputs) {
  return std::any_of(inputs.begin(), inputs.end(), [](const FlagInput& in) { return in.option && in.option->count(); });
}

// Whether a flag of a [demo] setting other than --no-demo is given
// (--demo-listen, ...): with a config file, that asks for the demo as a
// [demo] section does.
bool asks_for_the_demo(const std::vector<FlagInput>& inputs) {
  const auto settings = server_settings();
  for (std::size_t i = 0; i < settings.size(); ++i) {
    const FlagInput& in = inputs[i];
    if (settings[i].section == "demo" && !settings[i].flag_negates && in.option && in.option->count()) return true;
  }
  return false;
}

// The route the policy flags describe, if they are given. Returns an error
// message, or empty.
std::string apply_policy_flags(const std::vector<FlagInput>& inputs, Options& o) {
  if (!any_given(inputs)) return {};
  if (!o.routes.empty()) {
    return "policy flags (--allow-origin, ...) and the config file's [[routes]] both define policies\n"
           "  fix: put the policy in the config file, or drop --config";
  }
  RouteConfig route;
  apply_flags(route_settings(), inputs, route);
  if (route.policy.allow_origins.empty() && !route.upstream.empty()) {
    return "--upstream needs --allow-origin: echoing any origin in front of an existing API would let every web page "
           "read it through its visitors' browsers\n"
           "  fix: name the pages' origins, e.g. --allow-origin https://app.example.com (or --allow-origin '*' for a "
           "public API without credentials)";
  }
  if (route.policy.allow_origins.empty())
    return "a policy needs --allow-origin\n  fix: add --allow-origin https://app.example.com";
  o.routes.push_back(std::move(route));
  return {};
}

Parsed error_exit(const std::string& message) {
  Parsed p;
  p.exit_code = 2;
  p.error = message;
  return p;
}

}  // namespace

Parsed parse(int argc, char** argv) {
  CLI::App app{
      "corsd: a fast, spec-exact CORS server.\n"
      "With no arguments it runs the demo (the blog post's system): the echo API on http://localhost:8080\n"
      "and the demo page on a second origin, http://localhost:8081/.\n"
      "Every flag has a config-file key: corsd --help-settings lists them.\n"
      "Also: corsd check URL --origin O (what a browser does with one fetch, and why; corsd check --help)\n"
      "      corsd audit URL [--origin O] (every CORS misconfiguration of a server; corsd audit --help)",
      "corsd"};
  app.set_version_flag("--version", "corsd " CORSD_VERSION);
  std::string config, check_config;
  app.add_option("--config", config,
                 "TOML file with [server], [demo], [admin], [proxy], [access_log], [[routes]] and [[tls.certificates]] "
                 "(see examples/)")
      ->check(CLI::ExistingFile);
  app.add_option("--check-config", check_config, "Validate a config file, print the effective settings, exit")
      ->check(CLI::ExistingFile)
      ->excludes("--config");
  bool help_settings = false;
  app.add_flag("--help-settings", help_settings, "Print every setting, its flag, values and default (Markdown), exit");
  std::vector<FlagInput> server_inputs(server_settings().size()), route_inputs(route_settings().size());
  add_flags(app, server_settings(), server_inputs);
  add_flags(app, route_settings(), route_inputs);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    Parsed p;
    if (e.get_exit_code() == 0) {
      p.exit_code = app.exit(e);  // --help, --version
    } else {
      p.exit_code = 2;  // a usage error, as for a config file's
      p.error = std::string(e.what()) + "\n  run with --help for more information";
    }
    return p;
  }

  Parsed parsed;
  if (help_settings) {
    std::cout << settings_table();
    parsed.exit_code = 0;
    return parsed;
  }
  Options& o = parsed.options;
  const DemoFiles demo = demo_files();
  o.demo_root = demo.root;
  o.jquery = demo.jquery;
  o.threads = std::max(1u, std::thread::hardware_concurrency());
  const std::string& file = check_config.empty() ? config : check_config;
  o.check_only = !check_config.empty();
  if (!file.empty()) {
    if (std::string e = load_config_file(file, o); !e.empty()) return error_exit(e);
  }
  if (!file.empty() && asks_for_the_demo(server_inputs)) o.demo_enabled = true;
  apply_flags(server_settings(), server_inputs, o);
  if (std::string e = apply_policy_flags(route_inputs, o); !e.empty()) return error_exit(e);
  if (o.tls_cert.empty() != o.tls_key.empty()) {
    return error_exit(
        std::string(o.tls_cert.empty() ? "a TLS key without its certificate" : "a TLS certificate without its key") +
        "\n  fix: give both --tls-cert and --tls-key ([server] tls_cert and tls_key), or neither");
  }
  if (!o.sni_certificates.empty() && o.tls_cert.empty()) {
    return error_exit(file +
                      ": [[tls.certificates]] without [server] tls_cert: a default certificate answers clients that "
                      "ask for no name or another one\n  fix: add tls_cert and tls_key to [server]");
  }
  if (!file.empty() && o.routes.empty()) {
    // Else a file without routes would silently run the demo's allow-any-origin policy.
    return error_exit(file +
                      ": no [[routes]] and no policy flags: a config file states the policies it serves\n"
                      "  fix: add a route, e.g. [[routes]] path = \"/\" allow_origins = [\"https://app.example.com\"]");
  }
  return parsed;
}

std::vector<std::string> restart_only_changes(const Options& running, const Options& next) {
  std::vector<std::string> changed;
  for (const ServerSetting& s : server_settings()) {
    if (s.applies == Applies::on_restart && s.load(running) != s.load(next)) {
      changed.push_back("[" + std::string(s.section) + "] " + std::string(s.key));
    }
  }
  return changed;
}

std::vector<http::TlsCertificate> tls_certificates(const Options& options) {
  if (options.tls_cert.empty()) return {};
  std::vector<http::TlsCertificate> all{{options.tls_cert, options.tls_key, {}, options.tls_ocsp}};
  all.insert(all.end(), options.sni_certificates.begin(), options.sni_certificates.end());
  return all;
}

std::string describe_settings(const Options& options) {
  std::string out;
  for (const ServerSetting& s : server_settings()) {
    out += "[" + std::string(s.section) + "] " + std::string(s.key) + " = " + format_value(s.load(options)) + "\n";
  }
  for (const http::TlsCertificate& c : options.sni_certificates) {
    out += "[[tls.certificates]]";
    for (const CertificateSetting& s : certificate_settings()) {
      out += " " + std::string(s.key) + " = " + format_value(s.load(c));
    }
    out += "\n";
  }
  return out;
}

}  // namespace corsd::cli
