#include "buffer_pool.hpp"

namespace corsd::http {

BufferPool::BufferPool(const Limits& limits) : limits_(limits) { spare_.reserve(kMaxSpare); }

ConnectionBuffers BufferPool::take() {
  if (!spare_.empty()) {
    ConnectionBuffers b = std::move(spare_.back());
    spare_.pop_back();
    return b;
  }
  ConnectionBuffers b;
  b.input = std::make_unique_for_overwrite<char[]>(input_capacity());
  b.head.reserve(limits_.header_bytes);
  b.fields.reserve(limits_.header_fields);
  b.out.reserve(4096);
  return b;
}

void BufferPool::give(ConnectionBuffers buffers) noexcept {
  if (spare_.size() >= kMaxSpare) {  // freed here
    freed_ += input_capacity() + buffers.head.capacity() + buffers.body.capacity() + buffers.out.capacity() +
              buffers.fields.capacity() * sizeof(Field);
    return;
  }
  buffers.head.clear();
  buffers.fields.clear();
  buffers.body.clear();
  buffers.out.clear();
  buffers.response.clear();
  if (buffers.body.capacity() > kKeptCapacity) std::string().swap(buffers.body);
  if (buffers.out.capacity() > kKeptCapacity) std::string().swap(buffers.out);
  spare_.push_back(std::move(buffers));
}

}  // namespace corsd::http
