#include "corsd/http/preflight_cache.hpp"

#include <functional>

#include "corsd/http/cors_stage.hpp"

namespace corsd::http {
namespace {

std::string_view headers_line(const cors::CorsRequest& request) noexcept {
  return request.request_headers.empty() ? std::string_view{} : request.request_headers.front();
}

}  // namespace

bool PreflightCache::keepable(const cors::CorsRequest& request) noexcept {
  return request.method == "OPTIONS" && request.origin.count == 1 && request.request_method.count == 1 &&
         request.request_headers.size() <= 1 && request.request_private_network.count <= 1;
}

std::size_t PreflightCache::slot(const cors::Route& route, const cors::CorsRequest& request) noexcept {
  // The origin tells most questions apart; the method and the headers'
  // lengths, the rest. A collision only costs a decision.
  std::size_t h = std::hash<std::string_view>{}(request.origin.value);
  h ^= std::hash<const void*>{}(&route) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h ^= request.request_method.value.size() * 31 + headers_line(request).size() * 131 +
       request.request_private_network.count;
  return h % kSlots;
}

bool PreflightCache::matches(const Entry& e, const cors::Route& route, const cors::CorsRequest& request) noexcept {
  // An empty Access-Control-Request-Headers line is not an absent one: a
  // policy that reflects the request's headers answers them differently.
  return e.route == &route && e.private_network == request.request_private_network.present() &&
         e.header_lines == request.request_headers.size() && e.origin == request.origin.value &&
         e.method == request.request_method.value && e.headers == headers_line(request);
}

std::optional<std::string_view> PreflightCache::find(const cors::Route& route,
                                                     const cors::CorsRequest& request) const noexcept {
  if (!keepable(request)) return std::nullopt;
  const Entry& e = entries_[slot(route, request)];
  if (!matches(e, route, request)) return std::nullopt;
  return std::string_view(e.fields);
}

void PreflightCache::keep(const cors::Route& route, const cors::CorsRequest& request, const cors::Decision& decision) {
  if (!keepable(request) || decision.kind != cors::DecisionKind::preflight_accepted ||
      decision.why() != cors::RejectReason::none) {
    return;
  }
  Entry& e = entries_[slot(route, request)];
  scratch_.clear();
  apply_cors(decision, scratch_);
  e.fields.clear();
  serialize_fields(scratch_, e.fields);
  e.route = &route;
  e.private_network = request.request_private_network.present();
  e.header_lines = request.request_headers.size();
  e.origin.assign(request.origin.value);
  e.method.assign(request.request_method.value);
  e.headers.assign(headers_line(request));
}

void PreflightCache::clear() noexcept {
  for (Entry& e : entries_) e.route = nullptr;
}

}  // namespace corsd::http
