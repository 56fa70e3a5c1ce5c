#include "corsd_nginx.h"

#include <array>
#include <cstring>
#include <string>
#include <variant>

#include "corsd/config/policy_file.hpp"
#include "corsd/cors/host.hpp"

// The C interface of corsd_nginx.h over corsd::config and corsd::cors/host.
// No exception leaves it: nginx is C.

static_assert(corsd::cors::HeaderFields::kCapacity <= CORSD_NGX_MAX_FIELDS);

struct corsd_ngx_policy {
  corsd::cors::RouteTable routes;
};

namespace {

std::string_view view(corsd_ngx_str s) noexcept { return {s.data, s.len}; }
corsd_ngx_str str(std::string_view s) noexcept { return {s.data(), s.size()}; }

}  // namespace

extern "C" corsd_ngx_policy* corsd_ngx_load(const char* path, char* error, size_t error_size) {
  std::string message;
  try {
    auto loaded = corsd::config::load_policy_file(path);
    if (auto* table = std::get_if<corsd::cors::RouteTable>(&loaded)) return new corsd_ngx_policy{std::move(*table)};
    message = std::get<std::string>(loaded);
  } catch (const std::exception& e) {
    message = std::string(path) + ": " + e.what();
  }
  if (error_size > 0) {
    const std::size_t n = std::min(message.size(), error_size - 1);
    std::memcpy(error, message.data(), n);
    error[n] = '\0';
  }
  return nullptr;
}

extern "C" void corsd_ngx_free(corsd_ngx_policy* policy) { delete policy; }

extern "C" int corsd_ngx_decide(const corsd_ngx_policy* policy, corsd_ngx_str method, corsd_ngx_str path,
                                corsd_ngx_next_field next, void* state, corsd_ngx_decision* out) {
  const corsd::cors::Route* route = policy->routes.match(view(path));
  if (route == nullptr) return 0;
  corsd::cors::RequestFields fields;
  for (corsd_ngx_field field; next(state, &field) != 0;) fields.add(view(field.name), view(field.value));
  const corsd::cors::Decision d = route->policy.decide(fields.request(view(method)));
  *out = corsd_ngx_decision{};
  out->answer = corsd::cors::answers_preflight(route->policy, d) ? 1 : 0;
  out->status = corsd::cors::preflight_status(d);
  for (const corsd::cors::HeaderField& h : d.headers) {
    out->headers[out->header_count++] = {str(h.name), str(h.value)};
  }
  out->vary = str(d.vary);
  const auto parts = corsd::cors::preflight_body_parts(d);
  for (std::size_t i = 0; i < parts.size(); ++i) out->body[i] = str(parts[i]);
  return 1;
}

extern "C" int corsd_ngx_is_access_control(corsd_ngx_str name) {
  return corsd::cors::is_access_control_field(view(name)) ? 1 : 0;
}

extern "C" int corsd_ngx_merge_vary(const corsd_ngx_str* lines, size_t count, corsd_ngx_str extra, corsd_ngx_str* out) {
  // One nginx worker is one thread: the buffer keeps its capacity from one
  // response to the next, so merging allocates only while it grows.
  static std::string merged;
  static std::array<std::string_view, 16> views;  // more Vary lines than any server sends
  const std::size_t n = std::min(count, views.size());
  for (std::size_t i = 0; i < n; ++i) views[i] = view(lines[i]);
  merged.clear();
  try {
    if (!corsd::cors::append_vary(merged, std::span(views.data(), n), view(extra))) return 0;
  } catch (const std::bad_alloc&) {
    return 0;
  }
  *out = str(merged);
  return 1;
}
