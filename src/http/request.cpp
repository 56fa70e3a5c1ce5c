#include "corsd/http/request.hpp"

#include "corsd/cors/token.hpp"

namespace corsd::http {

std::optional<std::string_view> Request::find(std::string_view name) const noexcept {
  for (const auto& f : fields) {
    if (cors::ascii_iequals(f.name, name)) return f.value;
  }
  return std::nullopt;
}

std::string_view Request::path() const noexcept {
  std::string_view t = target;
  if (!t.empty() && t.front() != '/') {
    const std::size_t scheme_end = t.find("://");
    if (scheme_end != std::string_view::npos) {
      t.remove_prefix(scheme_end + 3);
      const std::size_t path_start = t.find_first_of("/?");
      t = path_start == std::string_view::npos || t[path_start] == '?' ? std::string_view("/") : t.substr(path_start);
    }
  }
  return t.substr(0, t.find('?'));
}

std::size_t Request::count(std::string_view name) const noexcept {
  std::size_t n = 0;
  for (const auto& f : fields) {
    if (cors::ascii_iequals(f.name, name)) ++n;
  }
  return n;
}

}  // namespace corsd::http
