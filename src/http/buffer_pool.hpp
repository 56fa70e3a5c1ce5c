#pragma once
// What a connection needs only while a request is on its way: the read
// buffer, the request's parser and the store of its head, field list and
// body, its access-log note, the output buffer and the response head. A
// connection takes them from its worker's pool when its client sends
// something and gives them back once it has waited a second for the next
// request: an idle keep-alive connection then holds none of them (about
// 650 bytes of objects besides the buffers), and a busy one never goes to
// the allocator for them.

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "corsd/http/access_log.hpp"
#include "corsd/http/limits.hpp"
#include "corsd/http/response_head.hpp"
#include "request_parser.hpp"

namespace corsd::http {

struct ConnectionBuffers {
  ConnectionBuffers(const Limits& limits, std::size_t input_capacity);

  std::unique_ptr<char[]> input;        // lent to the connection's InputBuffer
  RequestStorage request;               // its head store and field list reserved at the limits
  std::optional<RequestParser> parser;  // the request being parsed, over `request`
  AccessNote note;
  std::string out;
  ResponseHead response;
};

class BufferPool {
 public:
  explicit BufferPool(const Limits& limits);

  // A set of buffers, reused if one is spare.
  std::unique_ptr<ConnectionBuffers> take();
  // Keeps `buffers` (emptied) for the next connection, up to kMaxSpare sets.
  void give(std::unique_ptr<ConnectionBuffers> buffers) noexcept;

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
  std::vector<std::unique_ptr<ConnectionBuffers>> spare_;
  std::size_t freed_ = 0;
};

}  // namespace corsd::http
