#include "corsd/http/request.hpp"

#include "corsd/cors/detail/token.hpp"

namespace corsd::http {

std::optional<std::string_view> Request::find(std::string_view name) const noexcept {
  for (const auto& f : fields) {
    if (cors::ascii_iequals(f.name, name)) return f.value;
  }
  return std::nullopt;
}

std::size_t Request::count(std::string_view name) const noexcept {
  std::size_t n = 0;
  for (const auto& f : fields) {
    if (cors::ascii_iequals(f.name, name)) ++n;
  }
  return n;
}

}  // namespace corsd::http
