#pragma once
// File: corsd/cors/decision.hpp
//
// What the engine decided about one request, and the response headers that
// decision needs. Every view points into the policy or the request, so a
// Decision lives no longer than both.
//
// A host acts on `kind` (Fetch Standard #http-requests: a CORS request is
// one with Origin; a preflight is OPTIONS with Access-Control-Request-Method
// too):
//
//   switch (d.kind) {
//     case DecisionKind::preflight_accepted:   // 204 with d.headers and Vary: d.vary
//     case DecisionKind::preflight_rejected:   // 403; reason_name(d.reason) says why
//       return answer_preflight(d);
//     case DecisionKind::actual_allowed:       // the application's answer, plus d.headers
//     case DecisionKind::actual_rejected:      // the application's answer, no CORS fields
//     case DecisionKind::not_cors:             // (Vary: d.vary all the same when not empty)
//       return serve(d);
//   }

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace corsd::cors {

enum class DecisionKind : std::uint8_t {
  not_cors,            // no Origin header: not a CORS request
  preflight_accepted,  // answer 204 (or 2xx) with `headers`
  preflight_rejected,  // answer 403 with no CORS headers; `reason` says why
  actual_allowed,      // pass to the application, add `headers`
  actual_rejected,     // pass to the application, add no CORS headers
};
inline constexpr std::size_t kDecisionKinds = 5;

// kind_name()
//
// Returns the stable snake_case name of `kind` ("preflight_accepted").
std::string_view kind_name(DecisionKind kind) noexcept;

enum class RejectReason : std::uint8_t {
  none,
  origin_repeated,   // several Origin lines
  origin_null,       // "null": opaque origins never match
  origin_malformed,  // not a serialized origin
  origin_not_allowed,
  method_repeated,   // several Access-Control-Request-Method lines
  method_malformed,  // Access-Control-Request-Method is not a token
  method_not_allowed,
  headers_malformed,  // an element of Access-Control-Request-Headers is not a token
  headers_too_many_lines,
  header_not_allowed,  // `Decision::detail` names the header
  private_network_not_allowed,
};
inline constexpr std::size_t kRejectReasons = static_cast<std::size_t>(RejectReason::private_network_not_allowed) + 1;

// reason_name()
//
// Returns the stable snake_case name of `reason` ("origin_not_allowed"), the
// name logs and 403 bodies carry.
std::string_view reason_name(RejectReason reason) noexcept;

struct HeaderField {
  std::string_view name;
  std::string_view value;
};

// A fixed-capacity list: deciding never allocates.
class HeaderFields {
 public:
  static constexpr std::size_t kCapacity = 8;

  void push_back(std::string_view name, std::string_view value) noexcept {
    if (size_ < kCapacity) fields_[size_++] = {name, value};
  }
  const HeaderField* begin() const noexcept { return fields_.data(); }
  const HeaderField* end() const noexcept { return fields_.data() + size_; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

 private:
  std::array<HeaderField, kCapacity> fields_;  // only [0, size_) is ever read
  std::size_t size_ = 0;
};

struct Decision {
  DecisionKind kind = DecisionKind::not_cors;
  RejectReason reason = RejectReason::none;
  // A part of an accepted preflight the answer leaves out: private network
  // access a route does not grant. The browser then fails that check
  // alone; the debug log says why.
  RejectReason withheld = RejectReason::none;
  std::string_view detail;  // the offending header name or method, if any
  HeaderFields headers;     // CORS headers to add, Vary excluded
  std::string_view vary;    // tokens to merge into Vary; empty when the answer cannot vary

  // Why the request, or a part of it, was not granted; none if it was.
  RejectReason why() const noexcept { return reason != RejectReason::none ? reason : withheld; }

  bool is_preflight() const noexcept {
    return kind == DecisionKind::preflight_accepted || kind == DecisionKind::preflight_rejected;
  }
};

}  // namespace corsd::cors
