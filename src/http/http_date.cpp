#include "http_date.hpp"

#include <cstring>

namespace corsd::http {
namespace {

void put2(char* p, int v) noexcept {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

}  // namespace

void format_http_date(std::time_t t, HttpDate& out) noexcept {
  static constexpr char kDays[] = "SunMonTueWedThuFriSat";
  static constexpr char kMonths[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  std::tm tm{};
  gmtime_r(&t, &tm);
  char* p = out.data();
  std::memcpy(p, kDays + 3 * tm.tm_wday, 3);
  std::memcpy(p + 3, ", ", 2);
  put2(p + 5, tm.tm_mday);
  p[7] = ' ';
  std::memcpy(p + 8, kMonths + 3 * tm.tm_mon, 3);
  p[11] = ' ';
  const int year = tm.tm_year + 1900;
  put2(p + 12, year / 100);
  put2(p + 14, year % 100);
  p[16] = ' ';
  put2(p + 17, tm.tm_hour);
  p[19] = ':';
  put2(p + 20, tm.tm_min);
  p[22] = ':';
  put2(p + 23, tm.tm_sec);
  std::memcpy(p + 25, " GMT", 4);
}

}  // namespace corsd::http
