#pragma once
// File: corsd/http/chunked.hpp
//
// The pieces of the chunked transfer coding (RFC 9112 §7.1) that a streamed
// body is framed with: each slice goes out as its size line, the bytes and
// CRLF, written together with no copy.

#include <array>
#include <charconv>
#include <cstddef>
#include <string_view>

namespace corsd::http {

inline constexpr std::string_view kChunkEnd = "\r\n";
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// A chunk's size line, "1a2b\r\n".
class ChunkSizeLine {
 public:
  explicit ChunkSizeLine(std::size_t size) noexcept {
    char* end = std::to_chars(text_.data(), text_.data() + 16, size, 16).ptr;
    *end++ = '\r';
    *end++ = '\n';
    size_ = static_cast<std::size_t>(end - text_.data());
  }
  std::string_view text() const noexcept { return {text_.data(), size_}; }

 private:
  std::array<char, 20> text_{};
  std::size_t size_ = 0;
};

}  // namespace corsd::http
