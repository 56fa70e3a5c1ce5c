#include "corsd/http/response.hpp"

#include "corsd/http/access_log.hpp"
#include "corsd/http/cors_stage.hpp"

namespace corsd::http {

void Response::use_cors(const cors::Decision* decision) noexcept {
  cors_ = decision;
  if (context_.note != nullptr) context_.note->set_cors(*decision);
}

void Response::send(std::string_view body) { send({body}); }

void Response::send(std::initializer_list<std::string_view> parts) {
  if (sent_) return;
  sent_ = true;
  if (cors_ != nullptr) apply_cors(*cors_, head_);
  std::uint64_t length = 0;
  for (auto part : parts) length += part.size();
  content_length_ = length;
  if (!over_http2()) serialize_head(head_, context_, {Framing::Kind::length, length}, out_);
  if (context_.head || status_has_no_body(head_.status)) return;
  for (auto part : parts) out_.append(part);
  body_bytes_ = length;
}

}  // namespace corsd::http
