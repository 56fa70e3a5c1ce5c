#pragma once
// File: corsd/http/limits.hpp
//
// Every bound a client can push against, named in one place. A request over
// a size limit is answered (400, 413, 431) and its connection closed; a
// client over a time limit is disconnected.

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace corsd::http {

struct Limits {
  std::size_t header_bytes = 16 * 1024;    // request line + fields; over it: 431
  std::size_t header_fields = 100;         // fields per request; over it: 431
  std::uint64_t body_bytes = 1024 * 1024;  // de-chunked body; over it: 413, never buffered
  std::size_t pipelined_requests = 32;     // answered requests held before one write
  std::size_t connections_per_thread = 10000;
  // Slowest body in bytes per second, over each body_timeout from the head
  // on (0: none): a body trickled a byte at a time cannot hold a connection
  // for ever by never pausing longer than body_timeout, nor after a burst.
  std::uint64_t min_body_rate = 500;
  // HTTP/2: streams a client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS);
  // more are refused with RST_STREAM(REFUSED_STREAM).
  std::uint32_t h2_max_streams = 100;
  // HTTP/2 frames that make the server work for nothing (streams opened and
  // reset at once, CVE-2023-44487, and empty DATA): a client may send a
  // burst of this many, then this many a second, else GOAWAY(ENHANCE_YOUR_CALM).
  std::uint32_t h2_free_frame_burst = 400;
  std::uint32_t h2_free_frames_per_second = 100;

  std::chrono::milliseconds header_timeout{10'000};  // first byte of a request to its last header byte
  std::chrono::milliseconds body_timeout{30'000};    // longest pause while a body arrives
  std::chrono::milliseconds idle_timeout{30'000};    // keep-alive wait for the next request
  std::chrono::milliseconds send_timeout{30'000};    // longest wait for a client to take a response
  std::chrono::milliseconds shutdown_grace{5'000};   // requests in flight may finish within it

  bool operator==(const Limits&) const = default;
};

}  // namespace corsd::http
