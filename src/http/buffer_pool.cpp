#include "buffer_pool.hpp"

namespace corsd::http {

ConnectionBuffers::ConnectionBuffers(const Limits& limits, std::size_t input_capacity)
    : input(std::make_unique_for_overwrite<char[]>(input_capacity)), request(limits) {
  out.reserve(4096);
}

BufferPool::BufferPool(const Limits& limits) : limits_(limits) { spare_.reserve(kMaxSpare); }

std::unique_ptr<ConnectionBuffers> BufferPool::take() {
  if (spare_.empty()) return std::make_unique<ConnectionBuffers>(limits_, input_capacity());
  std::unique_ptr<ConnectionBuffers> b = std::move(spare_.back());
  spare_.pop_back();
  return b;
}

void BufferPool::give(std::unique_ptr<ConnectionBuffers> b) noexcept {
  const std::size_t held = b->request.capacity() + b->out.capacity();
  b->parser.reset();
  b->request.clear();                // frees a body grown past kKeptCapacity
  if (spare_.size() >= kMaxSpare) {  // freed here
    freed_ += input_capacity() + held + sizeof(ConnectionBuffers);
    return;
  }
  b->note.clear();
  b->out.clear();
  b->response.clear();
  if (b->out.capacity() > kKeptCapacity) std::string().swap(b->out);
  // What a big request's body and answer took is freed too, and counted,
  // so that the heap is trimmed after them (a megabyte freed in the middle
  // of the heap stays resident until then).
  freed_ += held - (b->request.capacity() + b->out.capacity());
  spare_.push_back(std::move(b));
}

}  // namespace corsd::http
