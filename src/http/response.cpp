#include "corsd/http/response.hpp"

#include <charconv>

#include "corsd/cors/token.hpp"

namespace corsd::http {
namespace {

void append_number(std::string& out, std::size_t n) {
  char digits[24];
  const auto result = std::to_chars(digits, digits + sizeof digits, n);
  out.append(digits, static_cast<std::size_t>(result.ptr - digits));
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

// Whether the comma-separated `list` names `token` (case-insensitive).
bool list_contains(std::string_view list, std::string_view token) noexcept {
  cors::ListCursor cursor(std::span<const std::string_view>(&list, 1));
  std::string_view element;
  while (cursor.next(element)) {
    if (cors::ascii_iequals(element, token)) return true;
  }
  return false;
}

}  // namespace

std::string_view reason_phrase(unsigned status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "";
  }
}

void Response::add(std::string_view name, std::string_view value) noexcept {
  if (cors::ascii_iequals(name, "vary")) {
    vary_app_ = value;
    return;
  }
  if (field_count_ < kMaxFields) fields_[field_count_++] = {name, value};
}

void Response::send(std::string_view body) { send({body}); }

void Response::send(std::initializer_list<std::string_view> parts) {
  if (sent_) return;
  sent_ = true;
  std::size_t length = 0;
  for (auto part : parts) length += part.size();
  write_head(length);
  if (context_.head) return;
  for (auto part : parts) out_.append(part);
}

void Response::write_head(std::size_t content_length) {
  out_.append("HTTP/1.1 ");
  append_number(out_, status_);
  out_.push_back(' ');
  out_.append(reason_phrase(status_));
  out_.append("\r\n");
  for (std::size_t i = 0; i < field_count_; ++i) append_field(out_, fields_[i].name, fields_[i].value);
  write_vary();
  append_field(out_, "Date", context_.date);
  out_.append("Content-Length: ");
  append_number(out_, content_length);
  out_.append("\r\n");
  if (!context_.keep_alive) {
    out_.append("Connection: close\r\n");
  } else if (context_.version == 10) {
    out_.append("Connection: keep-alive\r\n");
  }
  out_.append("\r\n");
}

// One Vary field: the application's tokens, then the CORS tokens it lacks.
void Response::write_vary() {
  if (vary_app_.empty() && vary_extra_.empty()) return;
  out_.append("Vary: ");
  out_.append(vary_app_);
  if (vary_app_ == "*") {
    out_.append("\r\n");
    return;
  }
  bool first = vary_app_.empty();
  cors::ListCursor cursor(std::span<const std::string_view>(&vary_extra_, 1));
  std::string_view token;
  while (cursor.next(token)) {
    if (list_contains(vary_app_, token)) continue;
    if (!first) out_.append(", ");
    out_.append(token);
    first = false;
  }
  out_.append("\r\n");
}

}  // namespace corsd::http
