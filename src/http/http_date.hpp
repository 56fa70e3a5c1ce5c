#pragma once
// The IMF-fixdate of RFC 9110 §5.6.7 ("Sun, 06 Nov 1994 08:49:37 GMT"),
// written without the C locale's help.

#include <array>
#include <ctime>
#include <string_view>

namespace corsd::http {

using HttpDate = std::array<char, 29>;

void format_http_date(std::time_t t, HttpDate& out) noexcept;

inline std::string_view view(const HttpDate& d) noexcept { return {d.data(), d.size()}; }

}  // namespace corsd::http
