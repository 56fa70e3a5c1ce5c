#pragma once
// File: corsd/http/access_log.hpp
//
// The access log: one line per answered request, as JSON lines or the
// combined log format. Each worker formats its lines into a scratch buffer
// and appends them to a ring of its own: no lock, no system call and no
// allocation on the request path. One writer thread empties the rings into
// the file. A ring that is full drops the line and counts it, so a slow
// disk or a stalled pipe never holds up a request.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "corsd/cors/decision.hpp"
#include "corsd/http/stats.hpp"

namespace corsd::http {

enum class AccessLogFormat : std::uint8_t { json, combined };

// What the layers above the connection add to a request's line: the CORS
// decision, and the upstream that answered.
class AccessNote {
 public:
  void clear() noexcept {
    upstream_size_ = 0;
    has_cors_ = false;
    reason_ = cors::RejectReason::none;
    upstream_time_ = std::chrono::nanoseconds(-1);
  }

  void set_cors(const cors::Decision& decision) noexcept {
    has_cors_ = true;
    kind_ = decision.kind;
    reason_ = decision.reason;
  }
  // set_upstream()
  //
  // The upstream the request goes to, from `started` on. `authority` is
  // copied ("127.0.0.1:5000"); a longer one is cut short.
  void set_upstream(std::string_view authority, std::chrono::steady_clock::time_point started) noexcept;
  // The upstream's answer head has arrived: its time is since set_upstream().
  void upstream_answered(std::chrono::steady_clock::time_point now) noexcept { upstream_time_ = now - started_; }

  bool has_cors() const noexcept { return has_cors_; }
  cors::DecisionKind kind() const noexcept { return kind_; }
  cors::RejectReason reason() const noexcept { return reason_; }
  std::string_view upstream() const noexcept { return {upstream_, upstream_size_}; }
  std::chrono::nanoseconds upstream_time() const noexcept { return upstream_time_; }

 private:
  static constexpr std::size_t kUpstreamCapacity = 128;
  char upstream_[kUpstreamCapacity];  // only [0, upstream_size_) is ever read
  std::uint8_t upstream_size_ = 0;
  bool has_cors_ = false;
  cors::DecisionKind kind_ = cors::DecisionKind::not_cors;
  cors::RejectReason reason_ = cors::RejectReason::none;
  std::chrono::steady_clock::time_point started_{};
  std::chrono::nanoseconds upstream_time_{-1};  // negative: no upstream answered
};

// One request's line, as the connection knows it. Views point into the
// request and the connection, valid while the line is formatted.
struct AccessRecord {
  std::chrono::system_clock::time_point time;  // when the answer was done
  std::string_view peer;                       // the client's address
  std::string_view method;
  std::string_view target;  // as the client sent it
  unsigned version = 11;    // 10, 11 or 20
  unsigned status = 0;
  std::uint64_t body_bytes = 0;  // response body bytes sent
  std::chrono::nanoseconds duration{};
  std::string_view origin, referer, user_agent;  // empty: absent
  const AccessNote* note = nullptr;
};

// Longest line format_access_line() writes; longer fields are cut short.
inline constexpr std::size_t kMaxAccessLine = 24 * 1024;

// format_access_line()
//
// Writes `record`'s line, ending in '\n', to `out` (kMaxAccessLine bytes at
// least) and returns its length. JSON strings escape '"', '\\', control
// bytes and bytes from 0x7f as \u00XX, so every line is valid JSON; the
// combined format escapes them as \xNN, as nginx does.
std::size_t format_access_line(const AccessRecord& record, AccessLogFormat format, std::span<char> out) noexcept;

// The access log of one server: a ring per worker, and the thread that
// writes them out.
class AccessLog {
 public:
  // `workers` rings of `ring_bytes` each, made when the log is first
  // turned on.
  explicit AccessLog(unsigned workers, std::size_t ring_bytes = 1 << 20);
  ~AccessLog();  // writes what the rings hold, then closes the file
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // configure()
  //
  // Opens `path` for appending ("-": standard output; empty: the log is
  // off) and switches to it and to `format`; lines already queued go to the
  // old file. Returns an error naming the path, or empty; on error nothing
  // changes. Not on a worker thread.
  std::string configure(const std::string& path, AccessLogFormat format);

  // reopen()
  //
  // Opens the same path again (SIGUSR1, after logrotate moved the file).
  // Returns an error, or empty; on error the old file stays in use.
  std::string reopen();

  // Whether lines are wanted, and in which format: read by the workers.
  bool enabled() const noexcept { return enabled_.load(std::memory_order_relaxed); }
  AccessLogFormat format() const noexcept { return format_.load(std::memory_order_relaxed); }

  // append()
  //
  // Queues `line` on worker `worker`'s ring, from that worker's thread
  // only; a full ring drops it and counts it.
  void append(unsigned worker, std::string_view line) noexcept;

  // For /metrics: lines queued, and lines dropped (a full ring, or a write
  // that failed), over all workers.
  std::uint64_t lines() const noexcept;
  std::uint64_t dropped() const noexcept;

 private:
  class Ring;
  class Writer;
  std::unique_ptr<Writer> writer_;
  std::atomic<bool> enabled_{false};
  std::atomic<AccessLogFormat> format_{AccessLogFormat::json};
};

}  // namespace corsd::http
