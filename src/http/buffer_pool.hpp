#pragma once
// What a connection needs only while a request is on its way: the read
// buffer, the store of the request's head and its field list, its body, the
// output buffer and the response head's storage. A connection takes them
// from its worker's pool when its client sends something and gives them
// back once it has waited a second for the next request: an idle keep-alive
// connection then holds no buffer, and a busy one never goes to the
// allocator for them.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "corsd/http/limits.hpp"
#include "corsd/http/request.hpp"
#include "corsd/http/response_head.hpp"

namespace corsd::http {

struct ConnectionBuffers {
  std::unique_ptr<char[]> input;  // BufferPool::input_capacity() bytes
  std::string head;               // reserved: Limits::header_bytes
  std::vector<Field> fields;      // reserved: Limits::header_fields
  std::string body;
  std::string out;
  ResponseHead response;  // its fields' storage
};

class BufferPool {
 public:
  explicit BufferPool(const Limits& limits);

  // A set of buffers, reused if one is spare.
  ConnectionBuffers take();
  // Keeps `buffers` (emptied) for the next connection, up to kMaxSpare sets.
  void give(ConnectionBuffers buffers) noexcept;

  // Bytes freed (rather than kept) since the last call: what a trim of the
  // heap could give back to the system.
  std::size_t take_freed() noexcept { return std::exchange(freed_, 0); }

  // The read buffer's size: a whole header block fits, with room to spare.
  std::size_t input_capacity() const noexcept { return limits_.header_bytes + 4096; }

 private:
  // Sets kept: enough for the connections that wake at the same moment;
  // past it a burst's buffers go back to the allocator.
  static constexpr std::size_t kMaxSpare = 64;
  // Bodies and outputs grown past this are not kept.
  static constexpr std::size_t kKeptCapacity = 64 * 1024;

  const Limits& limits_;
  std::vector<ConnectionBuffers> spare_;
  std::size_t freed_ = 0;
};

}  // namespace corsd::http
