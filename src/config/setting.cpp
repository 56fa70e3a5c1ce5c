#include "corsd/config/detail/setting.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

// Checking, parsing and formatting settings' values, for the flags, the
// config file, --help, --check-config and the README's table.

namespace corsd::config {
namespace {

using T = Type;

std::string number_text(double n) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, n);
  return ec == std::errc{} ? std::string(buffer, end) : std::to_string(n);
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string choices_text(const SettingShape& s, std::string_view joiner) {
  std::string out;
  for (std::size_t i = 0; i < s.choices.size(); ++i) {
    if (i > 0) out += i + 1 == s.choices.size() ? joiner : std::string_view(", ");
    out += quoted(s.choices[i]);
  }
  return out;
}

std::optional<std::uint16_t> parse_port(std::string_view s) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::optional<HostPort> parse_host_port(std::string_view text) {
  if (auto port = parse_port(text)) return HostPort{"localhost", *port};
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // IPv6 needs brackets
  }
  const auto number = parse_port(port);
  if (host.empty() || !number) return std::nullopt;
  return HostPort{std::string(host), *number};
}

std::chrono::milliseconds seconds_to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000.0));
}

Problem wrong_type(const SettingShape& s) {
  switch (s.type) {
    case T::boolean: return {"must be true or false", "write true or false, without quotes"};
    case T::integer:
      return {"must be a whole number from " + range_text(s), "write a number in that range, without quotes"};
    case T::seconds: return {"must be a number of seconds from " + range_text(s), "write e.g. 10 or 2.5"};
    case T::list: return {"must be a list of strings", "write [\"a\", \"b\"]"};
    default: return {"must be a string", "write it in quotes"};
  }
}

std::optional<Problem> check_value(const SettingShape& s, const Value& value) {
  switch (s.type) {
    case T::integer: {
      const std::int64_t n = std::get<std::int64_t>(value);
      if (n < s.min || n > s.max) return wrong_type(s);
      return std::nullopt;
    }
    case T::seconds: {
      const double seconds = std::get<double>(value);
      // Every comparison with NaN is false: it must not pass as in range.
      if (!std::isfinite(seconds) || seconds * 1000 < static_cast<double>(s.min) ||
          seconds * 1000 > static_cast<double>(s.max)) {
        return wrong_type(s);
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

std::variant<Value, Problem> parse_value(const SettingShape& s, std::string_view text) {
  Value value = std::string(text);
  if (s.type == T::boolean) {
    if (text != "true" && text != "false") return wrong_type(s);
    value = text == "true";
  } else if (s.type == T::integer) {
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return wrong_type(s);
    value = n;
  } else if (s.type == T::seconds) {
    const std::string copy(text);
    char* end = nullptr;
    const double seconds = std::strtod(copy.c_str(), &end);
    if (copy.empty() || *end != '\0') return wrong_type(s);
    value = seconds;
  } else if (s.type == T::list) {
    value = std::vector<std::string>{std::string(text)};
  }
  if (auto problem = check_value(s, value)) return *problem;
  return value;
}

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

std::string range_text(const SettingShape& s) {
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

}  // namespace corsd::config
