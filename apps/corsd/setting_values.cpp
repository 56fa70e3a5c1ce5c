#include <charconv>
#include <cmath>
#include <cstdlib>

#include "settings.hpp"

// Checking, parsing and formatting settings' values, for the flags, the
// config file, --help, --check-config and the README's table.

namespace corsd::cli {
namespace {

using T = Type;
using A = Applies;

std::string number_text(double n) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, n);
  return ec == std::errc{} ? std::string(buffer, end) : std::to_string(n);
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

template <typename Target>
std::string choices_text(const Setting<Target>& s, std::string_view joiner) {
  std::string out;
  for (std::size_t i = 0; i < s.choices.size(); ++i) {
    if (i > 0) out += i + 1 == s.choices.size() ? joiner : std::string_view(", ");
    out += quoted(s.choices[i]);
  }
  return out;
}

template <typename Target>
Problem type_problem(const Setting<Target>& s) {
  switch (s.type) {
    case T::boolean: return {"must be true or false", "write true or false, without quotes"};
    case T::integer:
      return {"must be a whole number from " + range_text(s), "write a number in that range, without quotes"};
    case T::seconds: return {"must be a number of seconds from " + range_text(s), "write e.g. 10 or 2.5"};
    case T::list: return {"must be a list of strings", "write [\"a\", \"b\"]"};
    default: return {"must be a string", "write it in quotes"};
  }
}

template <typename Target>
std::optional<Problem> check(const Setting<Target>& s, const Value& value) {
  switch (s.type) {
    case T::integer: {
      const std::int64_t n = std::get<std::int64_t>(value);
      if (n < s.min || n > s.max) return type_problem(s);
      return std::nullopt;
    }
    case T::seconds: {
      const double seconds = std::get<double>(value);
      // Every comparison with NaN is false: it must not pass as in range.
      if (!std::isfinite(seconds) || seconds * 1000 < static_cast<double>(s.min) ||
          seconds * 1000 > static_cast<double>(s.max)) {
        return type_problem(s);
      }
      return std::nullopt;
    }
    case T::address: {
      const std::string& text = std::get<std::string>(value);
      if (parse_host_port(text)) return std::nullopt;
      return Problem{quoted(text) + " is not HOST:PORT", "write e.g. \"localhost:8080\", \"[::1]:8080\" or \"8080\""};
    }
    case T::choice: {
      const std::string& text = std::get<std::string>(value);
      if (std::find(s.choices.begin(), s.choices.end(), text) != s.choices.end()) return std::nullopt;
      const bool two = s.choices.size() == 2;
      return Problem{quoted(text) + (two ? " is neither " + choices_text(s, " nor ")
                                         : " is not one of " + choices_text(s, " or ")),
                     "write " + choices_text(s, " or ")};
    }
    case T::list: {
      if (s.check_element == nullptr) return std::nullopt;
      for (const std::string& element : std::get<std::vector<std::string>>(value)) {
        if (auto problem = s.check_element(element)) return problem;
      }
      return std::nullopt;
    }
    default: return std::nullopt;
  }
}

template <typename Target>
std::variant<Value, Problem> parse_text(const Setting<Target>& s, std::string_view text) {
  Value value = std::string(text);
  if (s.type == T::boolean) {
    if (text != "true" && text != "false") return type_problem(s);
    value = text == "true";
  } else if (s.type == T::integer) {
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return type_problem(s);
    value = n;
  } else if (s.type == T::seconds) {
    const std::string copy(text);
    char* end = nullptr;
    const double seconds = std::strtod(copy.c_str(), &end);
    if (copy.empty() || *end != '\0') return type_problem(s);
    value = seconds;
  } else if (s.type == T::list) {
    value = std::vector<std::string>{std::string(text)};
  }
  if (auto problem = check(s, value)) return *problem;
  return value;
}

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
           cell(default_text(s)) + " | " + (s.applies == A::on_reload ? "yes" : "restart") + " | " + cell(s.help) +
           " |\n";
  }
  return out;
}

}  // namespace

std::variant<Value, Problem> parse_value(const ServerSetting& s, std::string_view text) { return parse_text(s, text); }
std::variant<Value, Problem> parse_value(const RouteSetting& s, std::string_view text) { return parse_text(s, text); }
std::variant<Value, Problem> parse_value(const CertificateSetting& s, std::string_view text) {
  return parse_text(s, text);
}

std::optional<Problem> check_value(const ServerSetting& s, const Value& v) { return check(s, v); }
std::optional<Problem> check_value(const RouteSetting& s, const Value& v) { return check(s, v); }
std::optional<Problem> check_value(const CertificateSetting& s, const Value& v) { return check(s, v); }

Problem wrong_type(const ServerSetting& s) { return type_problem(s); }
Problem wrong_type(const RouteSetting& s) { return type_problem(s); }
Problem wrong_type(const CertificateSetting& s) { return type_problem(s); }

std::string format_value(const Value& value) {
  struct Format {
    std::string operator()(std::monostate) const { return "(off)"; }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(std::int64_t n) const { return std::to_string(n); }
    std::string operator()(double d) const { return number_text(d); }
    std::string operator()(const std::string& s) const { return quoted(s); }
    std::string operator()(const std::vector<std::string>& list) const {
      std::string out = "[";
      for (const auto& s : list) out += (out.size() > 1 ? ", " : "") + quoted(s);
      return out + "]";
    }
  };
  return std::visit(Format{}, value);
}

template <typename Target>
std::string range_text(const Setting<Target>& s) {
  switch (s.type) {
    case T::boolean: return "true, false";
    case T::integer: return std::to_string(s.min) + " to " + std::to_string(s.max);
    case T::seconds:
      return number_text(static_cast<double>(s.min) / 1000) + " to " + number_text(static_cast<double>(s.max) / 1000);
    case T::choice: return choices_text(s, " or ");
    case T::address: return "HOST:PORT";
    case T::list: return "list of strings";
    case T::path: return "file path";
    default: return "string";
  }
}
template std::string range_text(const ServerSetting&);
template std::string range_text(const RouteSetting&);
template std::string range_text(const CertificateSetting&);

std::string default_text(const ServerSetting& s) {
  return s.default_text.empty() ? format_value(s.load(Options{})) : std::string(s.default_text);
}
std::string default_text(const RouteSetting& s) {
  return s.default_text.empty() ? format_value(s.load(RouteConfig{})) : std::string(s.default_text);
}

std::string default_text(const CertificateSetting& s) {
  return s.default_text.empty() ? format_value(s.load(http::TlsCertificate{})) : std::string(s.default_text);
}

std::string settings_table() {
  return "| Config file | Flag | Values | Default | Reload | What it does |\n"
         "| --- | --- | --- | --- | --- | --- |\n" +
         markdown_rows(server_settings()) + markdown_rows(route_settings()) + markdown_rows(certificate_settings());
}

}  // namespace corsd::cli
