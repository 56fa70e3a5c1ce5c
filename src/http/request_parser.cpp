#include "request_parser.hpp"

#include <algorithm>
#include <cstring>

#include "corsd/cors/detail/token.hpp"
#include "error_answers.hpp"

namespace corsd::http {
namespace {

namespace bhttp = boost::beast::http;

std::string_view std_view(boost::beast::string_view s) noexcept { return {s.data(), s.size()}; }

// A Host field is required in HTTP/1.1 (RFC 9112 §3.2), exactly once, and
// whenever sent it must be a valid uri-host [":" port].
bool host_ok(const RequestStorage& s) noexcept {
  std::size_t hosts = 0;
  for (const auto& f : s.fields) {
    if (!cors::ascii_iequals(f.name, "host")) continue;
    if (!is_valid_host(f.value)) return false;
    ++hosts;
  }
  return s.version < 11 ? hosts <= 1 : hosts == 1;
}

// RFC 9112 §6.1: what the Transfer-Encoding lines ask of the body. chunked
// must come last and once; corsd decodes nothing else, and forwards bodies
// decoded, so another coding before it cannot be honoured.
enum class Codings { chunked, malformed, unsupported };

Codings transfer_codings(const RequestStorage& s) noexcept {
  bool last_chunked = false;
  bool others = false;
  for (const auto& f : s.fields) {
    if (!cors::ascii_iequals(f.name, "transfer-encoding")) continue;
    cors::ListCursor cursor(std::span<const std::string_view>(&f.value, 1));
    std::string_view coding;
    while (cursor.next(coding)) {
      // transfer-coding = token *( OWS ";" OWS transfer-parameter )
      const std::size_t parameters = coding.find(';');
      if (last_chunked || !cors::is_token(cors::trim_ows(coding.substr(0, parameters)))) return Codings::malformed;
      last_chunked = parameters == std::string_view::npos && cors::ascii_iequals(coding, "chunked");
      others |= !last_chunked;
    }
  }
  if (!last_chunked) return Codings::malformed;
  return others ? Codings::unsupported : Codings::chunked;
}

// RFC 9112 §3.2.2: an absolute-form target's authority stands for the Host
// field, whatever the client sent there; corsd and what it forwards to see
// one host.
void host_from_authority(RequestStorage& s) noexcept {
  if (s.normalized.authority.empty()) return;
  for (auto& f : s.fields) {
    if (cors::ascii_iequals(f.name, "host")) f.value = s.normalized.authority;
  }
}

}  // namespace

// RFC 9110 §2.5: a request in a later HTTP/1 minor version is answered as
// HTTP/1.1. Beast knows only 1.0 and 1.1, so the minor digit of a complete
// request line is read as 1 before Beast sees it.
void read_later_minor_as_http11(std::span<char> data) noexcept {
  const std::string_view text(data.data(), data.size());
  const std::size_t end = text.find("\r\n");
  constexpr std::string_view kMajor = " HTTP/1.";
  if (end == std::string_view::npos || end < kMajor.size() + 1) return;
  char* version = data.data() + end - kMajor.size() - 1;
  if (std::string_view(version, kMajor.size()) == kMajor && version[kMajor.size()] >= '2' &&
      version[kMajor.size()] <= '9') {
    version[kMajor.size()] = '1';
  }
}

RequestStorage::RequestStorage(const Limits& limits)
    : head_(std::make_unique_for_overwrite<char[]>(limits.header_bytes)), head_capacity_(limits.header_bytes) {
  fields.reserve(limits.header_fields);
}

std::size_t RequestStorage::capacity() const noexcept {
  return head_capacity_ + fields.capacity() * sizeof(Field) + body.capacity() + path_.capacity();
}

void RequestStorage::normalize() { normalized = normalize_target(target, path_); }

void RequestStorage::clear() noexcept {
  head_size_ = 0;
  fields.clear();
  // A large body's buffer is given back rather than kept for every request.
  if (body.capacity() > 64 * 1024) {
    std::string().swap(body);
  } else {
    body.clear();
  }
  method = target = {};
  normalized = {};
  version = 11;
  expect_continue = false;
  transfer_encoding = false;
  refused_method = {};
  streaming = false;
  slice.reset();
}

bool RequestStorage::store(std::string_view s, std::string_view& out) noexcept {
  if (head_capacity_ - head_size_ < s.size()) return false;
  char* at = head_.get() + head_size_;
  if (!s.empty()) std::memcpy(at, s.data(), s.size());  // an empty view may have no data
  head_size_ += s.size();
  out = std::string_view(at, s.size());
  return true;
}

Request RequestStorage::view() const noexcept {
  Request r;
  r.method = method;
  r.target = target;
  r.path = normalized.path;
  r.query = normalized.query;
  r.version = version;
  r.fields = fields;
  r.body = body;
  r.tls = tls;
  return r;
}

RequestParser::RequestParser(RequestStorage& storage, const Limits& limits) : storage_(storage), limits_(limits) {
  header_limit(static_cast<std::uint32_t>(limits.header_bytes));
  body_limit(boost::none);  // see on_header_impl()
  // The head is parsed alone, so that the handler chooses buffered or
  // streamed before any body byte is taken; the connection then sets eager.
  eager(false);
}

void RequestParser::on_request_impl(bhttp::verb, string_view method, string_view target, int version, error_code& ec) {
  if (version != 10 && version != 11) {  // Beast refuses these first; kept as the contract
    ec = bhttp::error::bad_version;
    return;
  }
  storage_.version = static_cast<unsigned>(version);
  if (!storage_.store(std_view(method), storage_.method) || !storage_.store(std_view(target), storage_.target)) {
    ec = bhttp::error::header_limit;
    return;
  }
  storage_.refused_method = refused_method(storage_.method);
  if (!storage_.refused_method.empty()) ec = bhttp::error::bad_method;
}

void RequestParser::on_response_impl(int, string_view, int, error_code& ec) { ec = bhttp::error::bad_version; }

void RequestParser::on_field_impl(bhttp::field name, string_view name_string, string_view value, error_code& ec) {
  // Beast reports chunked trailer fields here too. They arrive after the
  // body, so nothing may take them for request headers (an Origin, Cookie or
  // Host smuggled past the checks); they are dropped.
  if (is_header_done()) return;
  if (storage_.fields.size() >= limits_.header_fields) {
    ec = bhttp::error::header_limit;
    return;
  }
  Field f;
  if (!storage_.store(std_view(name_string), f.name) || !storage_.store(std_view(value), f.value)) {
    ec = bhttp::error::header_limit;
    return;
  }
  storage_.fields.push_back(f);
  // RFC 9110 §10.1.1: an HTTP/1.0 client's Expect is ignored.
  if (name == bhttp::field::expect && storage_.version == 11 && cors::ascii_iequals(f.value, "100-continue")) {
    storage_.expect_continue = true;
  }
  if (name == bhttp::field::transfer_encoding) storage_.transfer_encoding = true;
}

void RequestParser::on_header_impl(error_code& ec) {
  if (!host_ok(storage_)) {
    ec = bhttp::error::bad_field;
    return;
  }
  // RFC 9112 §6.1, §6.3: a Transfer-Encoding whose last coding is not
  // chunked leaves the body's end unknown, and HTTP/1.0 has no
  // Transfer-Encoding at all. Beast would read such a body as empty and the
  // body as the next request (smuggling); refuse it instead.
  if (storage_.transfer_encoding) {
    const Codings codings = transfer_codings(storage_);
    if (codings == Codings::unsupported && storage_.version == 11) {
      ec = make_error_code(boost::system::errc::not_supported);  // 501
      return;
    }
    if (codings != Codings::chunked || storage_.version == 10 || !chunked()) {
      ec = bhttp::error::bad_transfer_encoding;
      return;
    }
  }
  storage_.normalize();
  host_from_authority(storage_);
  const bool asterisk_misused = storage_.target == "*" && storage_.method != "OPTIONS";  // RFC 9112 §3.2.4
  if (storage_.normalized.error != TargetError::none || asterisk_misused) {
    ec = bhttp::error::bad_target;
    return;
  }
  // The body limit is applied here, once the head is whole: Beast refuses a
  // Content-Length over its limit before, and the 413 needs the route's
  // CORS, which needs the normalized path. Chunks count against Beast's.
  if (const auto length = content_length(); length && *length > limits_.body_bytes) {
    ec = bhttp::error::body_limit;
  } else if (chunked()) {
    body_limit(limits_.body_bytes);
  }
}

void RequestParser::on_body_init_impl(boost::optional<std::uint64_t> const& content_length, error_code&) {
  // on_header_impl() has already refused a Content-Length over the limit. Only a
  // first part is reserved: a declared length is a claim, and the body grows
  // as it arrives (a raised max_body must not reserve gigabytes per client).
  constexpr std::uint64_t kReservedAtMost = 64 * 1024;
  if (content_length && !storage_.streaming) {
    storage_.body.reserve(static_cast<std::size_t>(std::min(*content_length, kReservedAtMost)));
  }
}

std::size_t RequestParser::on_body_impl(string_view body, error_code&) {
  if (storage_.streaming) {
    storage_.slice = std_view(body);
  } else {
    storage_.body.append(body.data(), body.size());
  }
  return body.size();
}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) {
  return on_body_impl(body, ec);
}

}  // namespace corsd::http
