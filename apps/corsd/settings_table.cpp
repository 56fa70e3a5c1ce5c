#include "settings.hpp"

// The README's table of settings, and what --help-settings prints.

namespace corsd::cli {
namespace {

// Text in a Markdown table cell: a '*' would start emphasis.
std::string cell(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '*' || c == '|') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

template <typename Target>
std::string markdown_rows(std::span<const Setting<Target>> settings) {
  std::string out;
  for (const auto& s : settings) {
    const bool tables = s.section == "routes" || s.section == "tls.certificates";  // arrays of tables
    const std::string section = tables ? "[[" + std::string(s.section) + "]]" : "[" + std::string(s.section) + "]";
    out += "| `" + section + "` `" + std::string(s.key) + "` | " +
           (s.flag.empty() ? std::string("") : "`" + std::string(s.flag) + "`") + " | " + range_text(s) + " | " +
           cell(default_text(s)) + " | " + (s.applies == Applies::on_reload ? "yes" : "restart") + " | " +
           cell(s.help) + " |\n";
  }
  return out;
}

}  // namespace

std::string settings_table() {
  return "| Config file | Flag | Values | Default | Reload | What it does |\n"
         "| --- | --- | --- | --- | --- | --- |\n" +
         markdown_rows(server_settings()) + markdown_rows(route_settings()) + markdown_rows(certificate_settings());
}

}  // namespace corsd::cli
