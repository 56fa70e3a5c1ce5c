#include "corsd/http/response_head.hpp"

#include <array>
#include <charconv>
#include <string>
#include <vector>

#include "corsd/cors/detail/token.hpp"
#include "corsd/cors/host.hpp"

namespace corsd::http {

using namespace std::string_view_literals;  // append("...") would count the literal with strlen()
namespace {

void append_number(std::string& out, std::uint64_t n) {
  char digits[24];
  const auto result = std::to_chars(digits, digits + sizeof digits, n);
  out.append(digits, static_cast<std::size_t>(result.ptr - digits));
}

bool is_vary(std::string_view name) noexcept { return cors::ascii_iequals(name, "vary"); }

// Fields the serializer writes itself from the Framing and the context.
bool is_framing_field(std::string_view name) noexcept {
  return cors::ascii_iequals(name, "content-length") || cors::ascii_iequals(name, "transfer-encoding") ||
         cors::ascii_iequals(name, "connection");
}

}  // namespace

// The head's own Vary lines joined, then the decision's tokens they lack
// (cors::append_vary). Vary: * stays alone.
bool merged_vary(const ResponseHead& head, std::string& out) {
  // More Vary lines than answers have; an answer with more pays for a vector.
  std::array<std::string_view, 16> few;
  std::vector<std::string_view> many;
  std::size_t n = 0;
  for (std::size_t i = 0; i < head.size(); ++i) {
    if (!is_vary(head[i].name)) continue;
    if (n == few.size()) many.assign(few.begin(), few.end());
    if (n < few.size()) {
      few[n] = head[i].value;
    } else {
      many.push_back(head[i].value);
    }
    ++n;
  }
  if (n == 0) {
    // Nothing to merge with (a preflight's answer): the decision's tokens as they are.
    out.append(head.vary_extra());
    return !head.vary_extra().empty();
  }
  const std::span<const std::string_view> lines = n <= few.size() ? std::span(few.data(), n) : std::span(many);
  return cors::append_vary(out, lines, head.vary_extra());
}

namespace {

void write_vary(const ResponseHead& head, std::string& out) {
  // Most answers vary on nothing (a kept preflight's Vary is in its bytes).
  if (head.vary_extra().empty() && !head.find("vary")) return;
  const std::size_t before = out.size();
  out.append("Vary: "sv);
  if (!merged_vary(head, out)) {
    out.resize(before);  // nothing to vary on
    return;
  }
  out.append("\r\n"sv);
}

}  // namespace

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": "sv);
  out.append(value);
  out.append("\r\n"sv);
}

void ResponseHead::add(std::string_view name, std::string_view value) {
  const auto at = static_cast<std::uint32_t>(text_.size());
  text_.append(name);
  text_.append(value);
  entries_.push_back({at, static_cast<std::uint32_t>(name.size()), static_cast<std::uint32_t>(at + name.size()),
                      static_cast<std::uint32_t>(value.size())});
}

std::optional<std::string_view> ResponseHead::find(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < size(); ++i) {
    if (cors::ascii_iequals((*this)[i].name, name)) return (*this)[i].value;
  }
  return std::nullopt;
}

void ResponseHead::clear() noexcept {
  status = 200;
  text_.clear();
  entries_.clear();
  vary_extra_ = {};
  serialized_ = {};
}

bool serialize_fields(const ResponseHead& head, std::string& out) {
  bool has_date = false;
  for (std::size_t i = 0; i < head.size(); ++i) {
    const auto [name, value] = head[i];
    if (is_framing_field(name) || is_vary(name)) continue;
    has_date = has_date || cors::ascii_iequals(name, "date");
    append_field(out, name, value);
  }
  write_vary(head, out);
  out.append(head.serialized());
  return has_date;
}

namespace {

// The status lines of 100 to 599, composed once: an answer copies its own
// rather than putting it together.
class StatusLines {
 public:
  static constexpr unsigned kFirst = 100, kLast = 599;
  StatusLines() {
    std::array<std::size_t, kLast - kFirst + 2> starts{};
    for (unsigned status = kFirst; status <= kLast; ++status) {
      starts[status - kFirst] = text_.size();
      text_.append("HTTP/1.1 "sv).append(std::to_string(status)).append(" "sv);
      text_.append(reason_phrase(status)).append("\r\n"sv);
    }
    starts.back() = text_.size();
    for (std::size_t i = 0; i + 1 < starts.size(); ++i) {
      lines_[i] = std::string_view(text_).substr(starts[i], starts[i + 1] - starts[i]);
    }
  }
  std::string_view operator[](unsigned status) const noexcept { return lines_[status - kFirst]; }

 private:
  std::string text_;
  std::array<std::string_view, kLast - kFirst + 1> lines_;
};

void append_status_line(std::string& out, unsigned status) {
  static const StatusLines lines;
  if (status >= StatusLines::kFirst && status <= StatusLines::kLast) {
    out.append(lines[status]);
    return;
  }
  out.append("HTTP/1.1 "sv);
  append_number(out, status);
  out.push_back(' ');
  out.append("\r\n"sv);
}

}  // namespace

void serialize_head(const ResponseHead& head, const ResponseContext& context, Framing framing, std::string& out) {
  append_status_line(out, head.status);
  if (!serialize_fields(head, out)) append_field(out, "Date", context.date);
  if (status_has_no_body(head.status)) framing.kind = Framing::Kind::none;
  if (framing.kind == Framing::Kind::length) {
    out.append("Content-Length: "sv);
    append_number(out, framing.length);
    out.append("\r\n"sv);
  } else if (framing.kind == Framing::Kind::chunked) {
    out.append("Transfer-Encoding: chunked\r\n"sv);
  }
  if (head.status >= 200) {
    if (!context.keep_alive || framing.kind == Framing::Kind::close) {
      out.append("Connection: close\r\n"sv);
    } else if (context.version == 10) {
      out.append("Connection: keep-alive\r\n"sv);
    }
  }
  out.append("\r\n"sv);
}

std::string_view reason_phrase(unsigned status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
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

}  // namespace corsd::http
