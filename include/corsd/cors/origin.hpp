#pragma once
// File: corsd/cors/origin.hpp
//
// Origins as the Fetch Standard serializes them ("https://example.com",
// "http://localhost:8081", "http://[::1]:8080"), and the matcher that decides
// whether a request's Origin is allowed. Matching is by exact lookup of the
// whole serialized origin: no prefix, suffix, substring or regex matching, so
// "https://example.com.evil.com" never matches "https://example.com".

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "corsd/string_hash.hpp"

namespace corsd::cors {

// is_serialized_origin()
//
// Returns whether `s` has the form a browser sends in `Origin` for a tuple
// origin: lowercase scheme "://" lowercase host [":" port], no path, no
// trailing slash. "null" is not a serialized tuple origin.
bool is_serialized_origin(std::string_view s) noexcept;

// NormalizedOrigin
//
// The result of normalize_origin(): `origin` on success, else `error` says
// what is wrong and `fix` how to write it.
struct NormalizedOrigin {
  std::string origin;
  std::string error;
  std::string fix;

  bool ok() const noexcept { return error.empty(); }
};

// normalize_origin()
//
// Parses an origin written in configuration and returns its serialization:
// scheme and host lowercased, default port (80 for http, 443 for https)
// dropped. Refuses "null", paths, trailing slashes, userinfo, wildcards and
// empty hosts, each with a fix.
NormalizedOrigin normalize_origin(std::string_view s);

// OriginMatcher
//
// Decides which Access-Control-Allow-Origin value, if any, answers a
// request's Origin. `any()` answers "*" (a public resource). `any_echoed()`
// answers the request's own origin (the seed's policy; never combined with
// credentials). `listed()` answers the origin when it is one of the listed
// serialized origins, found by hash, not by scan.
class OriginMatcher {
 public:
  enum class Mode { listed, any, any_echoed };

  static OriginMatcher any();
  static OriginMatcher any_echoed();
  // `origins` must already be normalized (see normalize_origin()).
  static OriginMatcher listed(const std::vector<std::string>& origins);

  // Returns the value of Access-Control-Allow-Origin for `origin` (a view of
  // `origin` itself or "*"), or an empty view when it is not allowed.
  std::string_view allow_origin_for(std::string_view origin) const noexcept;

  Mode mode() const noexcept { return mode_; }
  // Whether the answer depends on the request's Origin (then Vary: Origin).
  bool varies_by_origin() const noexcept { return mode_ != Mode::any; }
  std::size_t size() const noexcept { return exact_.size(); }

 private:
  Mode mode_ = Mode::listed;
  std::unordered_set<std::string, StringHash, std::equal_to<>> exact_;
};

}  // namespace corsd::cors
