#include "config_file.hpp"

#include "settings.hpp"
#include "toml_reader.hpp"

namespace corsd::cli {
namespace {

using config::find;
using config::keys_of;
using config::line_of;
using config::Reader;

// Reads one of the tables [server], [demo], [admin], [proxy], [access_log].
bool read_section(Reader& r, const toml::table& t, std::string_view section, Options& o) {
  if (!r.known_keys(t, "[" + std::string(section) + "]", keys_of(server_settings(), section))) return false;
  for (auto&& [key, n] : t) {
    if (!r.read(*find(server_settings(), section, key.str()), n, o)) return false;
  }
  return true;
}

// [tls]: its one key, certificates, an array of [[tls.certificates]].
bool read_tls(Reader& r, const toml::table& tls, Options& o) {
  if (!r.known_keys(tls, "[tls]", {"certificates"})) return false;
  const toml::node* node = tls.get("certificates");
  if (node == nullptr) return true;
  const toml::array* tables = node->as_array();
  if (tables == nullptr || !tables->is_array_of_tables()) {
    return r.fail(line_of(*node), "tls.certificates must be tables", "write each as [[tls.certificates]]");
  }
  for (const toml::node& n : *tables) {
    const toml::table& t = *n.as_table();
    if (!r.known_keys(t, "[[tls.certificates]]", keys_of(certificate_settings(), "tls.certificates"))) return false;
    http::TlsCertificate c;
    for (auto&& [key, value] : t) {
      if (!r.read(*find(certificate_settings(), "tls.certificates", key.str()), value, c)) return false;
    }
    if (c.cert_file.empty() || c.key_file.empty() || c.server_names.empty()) {
      return r.fail(line_of(t), "a [[tls.certificates]] table needs cert, key and server_names",
                    "write cert = \"api.pem\", key = \"api.key\", server_names = [\"api.example.com\"]");
    }
    o.sni_certificates.push_back(std::move(c));
  }
  return true;
}

}  // namespace

std::string load_config_file(const std::string& path, Options& options) {
  Reader r(path);
  toml::table root;
  if (!config::parse_toml(r, path, root, "check the path given to --config")) return r.error();
  const auto sections = config_sections();
  if (!r.known_keys(root, "the top level", {sections.begin(), sections.end()})) return r.error();
  // A file states what it serves: the demo runs where it has a [demo]
  // section (and that does not say enabled = false), never by default.
  options.demo_enabled = root.contains("demo");
  for (const std::string_view section : sections) {
    const toml::node* node = root.get(section);
    if (node == nullptr || section == "routes") continue;
    if (section == "tls" && node->is_table()) {
      if (!read_tls(r, *node->as_table(), options)) return r.error();
      continue;
    }
    if (!node->is_table()) {
      r.fail(line_of(*node), std::string(section) + " must be a table", "write it as [" + std::string(section) + "]");
      return r.error();
    }
    if (!read_section(r, *node->as_table(), section, options)) return r.error();
  }
  if (const toml::node* routes = root.get("routes");
      routes != nullptr && !config::read_route_tables(r, *routes, options.routes)) {
    return r.error();
  }
  return {};
}

}  // namespace corsd::cli
