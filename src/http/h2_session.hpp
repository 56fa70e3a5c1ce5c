#pragma once
// One HTTP/2 connection (RFC 9113), over TLS after ALPN chose "h2": nghttp2
// does the framing, HPACK, flow control and the protocol's own checks; this
// maps its streams onto corsd's handlers. A buffered request is answered
// once its END_STREAM arrives, from memory, as on HTTP/1.1. A streamed one
// (the proxy) runs as a coroutine per stream whose Exchange reads DATA as
// it arrives (the stream's window opens only as the handler takes slices:
// that is the back-pressure towards the client) and sends DATA as the
// client's window allows (send_body() returns once its bytes are out).
//
// One coroutine reads and feeds nghttp2, one writes what nghttp2 has to
// send; the session ends when both are done and every stream's coroutine
// has returned.

#include <nghttp2/nghttp2.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connection.hpp"
#include "corsd/http/handler.hpp"
#include "net.hpp"

namespace corsd::http {

class Worker;

// What the session shares with the connection that carries it: its
// deadlines (watched by the worker) and the client's address.
struct H2Carrier {
  TlsSocket& socket;
  Watched::clock::time_point& read_deadline;
  Watched::clock::time_point& write_deadline;
  std::string_view peer;
};

class H2Session {
 public:
  H2Session(H2Carrier carrier, Worker& worker, Handler& handler);
  ~H2Session();
  H2Session(const H2Session&) = delete;
  H2Session& operator=(const H2Session&) = delete;

  // Serves the connection until the client or the server ends it.
  net::awaitable<void> run();

  // Whether no stream is open: what a shutdown may close at once.
  bool idle() const noexcept { return streams_.empty(); }
  // The server shuts down: GOAWAY now, so that the client opens no new
  // streams while those in flight finish.
  void begin_drain() noexcept;

  struct Stream;
  class StreamExchange;

 private:
  // nghttp2's callbacks, with the session as user data.
  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t name_length,
                       const std::uint8_t* value, std::size_t value_length, std::uint8_t flags, void* self);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int on_data_chunk(nghttp2_session*, std::uint8_t flags, std::int32_t stream_id, const std::uint8_t* data,
                           std::size_t length, void* self);
  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t error_code, void* self);
  static ssize_t read_data(nghttp2_session*, std::int32_t stream_id, std::uint8_t* buffer, std::size_t length,
                           std::uint32_t* flags, nghttp2_data_source* source, void* self);

  Stream* find(std::int32_t id) noexcept;
  void on_request_head(Stream& s);
  void on_request_end(Stream& s);
  // A buffered request's answer, from the handler.
  void answer(Stream& s);
  // An answer of the session's own (400, 405, 413, 431, 501).
  void answer_error(Stream& s, unsigned status, std::string_view message);
  // An answer of the session's own, which `write` puts into a Response.
  template <typename Write>
  void answer_own(Stream& s, Write write);
  // Submits `head` with a body from the stream's output (`has_body`) or
  // none; `interim`: a 1xx head before the final one.
  bool submit_head(Stream& s, const ResponseHead& head, std::optional<std::uint64_t> content_length, bool has_body,
                   bool interim = false);
  // More of a stream's response body is queued (or its end).
  void resume(Stream& s);
  net::awaitable<void> serve_stream(Stream& s);
  net::awaitable<void> write_loop();
  void wake_writer() noexcept;
  // Frees `s` once nghttp2 has closed it and no coroutine holds it.
  void release(Stream& s);
  void arm_read_deadline() noexcept;
  void count_free_frame() noexcept;
  // Tells nghttp2 that `bytes` of the stream's DATA were taken: its window
  // (and the connection's) opens again.
  void give_back_window(Stream& s, std::size_t bytes) noexcept;
  void update_write_deadline() noexcept;

  H2Carrier carrier_;
  Worker& worker_;
  Handler& handler_;
  nghttp2_session* session_ = nullptr;
  std::map<std::int32_t, std::unique_ptr<Stream>> streams_;
  std::vector<std::unique_ptr<Stream>> spare_;  // reused: a warm session allocates little per request
  std::string out_;
  std::string scratch_;  // lowercased names and the merged Vary while a head is submitted
  struct NvEntry {
    std::size_t name_at, name_size, value_at, value_size;  // in scratch_
  };
  std::vector<NvEntry> nv_offsets_;
  std::vector<nghttp2_nv> nva_;
  net::steady_timer writer_wake_;
  net::steady_timer streams_done_;
  std::size_t running_ = 0;  // stream coroutines not yet returned
  Watched::clock::time_point last_data_sent_{};
  // Frames that cost the server and give the client nothing back (RST_STREAM
  // of its own streams, empty DATA): a bucket of kFreeFrameBurst that fills
  // kFreeFramesPerSecond; empty, the client gets GOAWAY(ENHANCE_YOUR_CALM).
  double free_frame_tokens_;
  Watched::clock::time_point free_frames_at_{};
  bool calm_down_ = false;
  bool write_requested_ = false;
  bool writer_done_ = false;
  bool closing_ = false;
  bool goaway_sent_ = false;
};

}  // namespace corsd::http
