#pragma once
// File: corsd/http/preflight_cache.hpp
//
// The accepted preflight answers a worker has given, kept in wire form. A
// preflight's answer is a function of its route's policy and four request
// fields (Origin, Access-Control-Request-Method, -Headers and
// -Private-Network), and browsers ask the same few questions again and
// again (one page, one origin, the same method and headers): each distinct
// question is decided and serialized once, then answered by copying bytes.
// Only plain accepted answers are kept: a rejection (or an answer that
// withholds private network access) is decided every time, so that the
// debug log still says why.
//
// Direct-mapped, kSlots entries per worker: a flood of distinct questions
// costs a decision each, as without the cache, and no more memory than the
// longest answer per slot (once warm, keeping one allocates nothing). Entries name their route by address, so the
// cache is cleared whenever the routes are replaced.

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "corsd/cors/decision.hpp"
#include "corsd/cors/request.hpp"
#include "corsd/cors/route_table.hpp"
#include "corsd/http/response_head.hpp"

namespace corsd::http {

class PreflightCache {
 public:
  static constexpr std::size_t kSlots = 64;

  // find()
  //
  // The fields (wire form, Vary included) of the answer kept for `request`
  // on `route`, or nothing.
  std::optional<std::string_view> find(const cors::Route& route, const cors::CorsRequest& request) const noexcept;

  // keep()
  //
  // Keeps the answer `decision` gives `request` on `route`, when it is a
  // plain accepted preflight of one Origin, one method and at most one
  // Access-Control-Request-Headers line.
  void keep(const cors::Route& route, const cors::CorsRequest& request, const cors::Decision& decision);

  // Forgets every answer (the routes they name are about to go).
  void clear() noexcept;

 private:
  struct Entry {
    const cors::Route* route = nullptr;
    bool private_network = false;
    std::size_t header_lines = 0;  // 0 or 1 (see keep())
    std::string origin, method, headers;
    std::string fields;
  };

  static bool keepable(const cors::CorsRequest& request) noexcept;
  static std::size_t slot(const cors::Route& route, const cors::CorsRequest& request) noexcept;
  static bool matches(const Entry& e, const cors::Route& route, const cors::CorsRequest& request) noexcept;

  std::array<Entry, kSlots> entries_;
  ResponseHead scratch_;  // where keep() puts an answer together: its storage is kept
};

}  // namespace corsd::http
