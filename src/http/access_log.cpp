#include "corsd/http/access_log.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <mutex>
#include <thread>
#include <vector>

namespace corsd::http {

void AccessNote::set_upstream(std::string_view authority, std::chrono::steady_clock::time_point started) noexcept {
  started_ = started;
  upstream_size_ = static_cast<std::uint8_t>(std::min(authority.size(), kUpstreamCapacity));
  std::memcpy(upstream_, authority.data(), upstream_size_);
}

namespace {

// Longest part of each field a line keeps: with escaping at most six times
// as long, every line fits kMaxAccessLine.
constexpr std::size_t kMaxTarget = 2048;
constexpr std::size_t kMaxReferer = 512;
constexpr std::size_t kMaxShortField = 256;  // origin, user agent, method, peer

constexpr char kHex[] = "0123456789abcdef";

// '"', '\\', control bytes and bytes from 0x7f: what both formats escape.
constexpr bool needs_escape(char c) noexcept {
  const auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte >= 0x7f || c == '"' || c == '\\';
}

// Appends to a fixed buffer; what does not fit is left out.
class LineWriter {
 public:
  explicit LineWriter(std::span<char> out) noexcept : begin_(out.data()), at_(out.data()), end_(at_ + out.size()) {}

  [[gnu::always_inline]] void put(std::string_view s) noexcept {
    const std::size_t n = std::min(s.size(), static_cast<std::size_t>(end_ - at_));
    std::memcpy(at_, s.data(), n);
    at_ += n;
  }
  [[gnu::always_inline]] void put(char c) noexcept {
    if (at_ != end_) *at_++ = c;
  }
  void number(std::uint64_t n) noexcept {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
    put(std::string_view(digits, static_cast<std::size_t>(end - digits)));
  }
  void padded(unsigned n, int width) noexcept {
    char digits[8];
    for (int i = width - 1; i >= 0; --i, n /= 10) digits[i] = static_cast<char>('0' + n % 10);
    put(std::string_view(digits, static_cast<std::size_t>(width)));
  }
  // Seconds with microseconds: "0.000123".
  void seconds(std::chrono::nanoseconds d) noexcept {
    const auto us = static_cast<std::uint64_t>(std::max<std::int64_t>(0, d.count() / 1000));
    number(us / 1'000'000);
    put('.');
    padded(static_cast<unsigned>(us % 1'000'000), 6);
  }
  // A time that may be missing (negative): `missing` then.
  void seconds_or(std::chrono::nanoseconds d, std::string_view missing) noexcept {
    if (d.count() < 0) return put(missing);
    seconds(d);
  }
  // `s`, which needs no escape, as a JSON string; null when empty.
  void quoted_or_null(std::string_view s) noexcept {
    if (s.empty()) return put("null");
    put('"');
    put(s);
    put('"');
  }
  // A JSON string, or null when `s` is empty and `null_if_empty`. Runs of
  // bytes that need no escape are copied whole.
  void json(std::string_view s, std::size_t cap, bool null_if_empty = true) noexcept {
    if (s.empty() && null_if_empty) return put("null");
    put('"');
    s = s.substr(0, cap);
    while (!s.empty()) {
      std::size_t plain = 0;
      while (plain < s.size() && !needs_escape(s[plain])) ++plain;
      put(s.substr(0, plain));
      if (plain == s.size()) break;
      const auto byte = static_cast<unsigned char>(s[plain]);
      if (byte == '"' || byte == '\\') {
        put('\\');
        put(s[plain]);
      } else {
        put("\\u00");
        put(kHex[byte >> 4]);
        put(kHex[byte & 0xf]);
      }
      s.remove_prefix(plain + 1);
    }
    put('"');
  }
  // Text as nginx escapes it in its log: '"', '\\' and bytes outside
  // printable ASCII as \xNN; "-" when empty.
  void escaped(std::string_view s, std::size_t cap) noexcept {
    if (s.empty()) return put('-');
    s = s.substr(0, cap);
    while (!s.empty()) {
      std::size_t plain = 0;
      while (plain < s.size() && !needs_escape(s[plain])) ++plain;
      put(s.substr(0, plain));
      if (plain == s.size()) break;
      const auto byte = static_cast<unsigned char>(s[plain]);
      put("\\x");
      put(kHex[byte >> 4]);
      put(kHex[byte & 0xf]);
      s.remove_prefix(plain + 1);
    }
  }
  std::size_t size() const noexcept { return static_cast<std::size_t>(at_ - begin_); }

 private:
  char* begin_;
  char* at_;
  char* end_;
};

// The line's time, formatted once a second per thread.
struct TimeText {
  std::time_t second = -1;
  char iso[24];       // "2026-12-01T12:00:00"
  char combined[32];  // "01/Dec/2026:12:00:00 +0000"
};

const TimeText& time_text(std::time_t second) noexcept {
  thread_local TimeText cache;
  if (cache.second != second) {
    std::tm tm{};
    ::gmtime_r(&second, &tm);
    std::strftime(cache.iso, sizeof cache.iso, "%Y-%m-%dT%H:%M:%S", &tm);
    std::strftime(cache.combined, sizeof cache.combined, "%d/%b/%Y:%H:%M:%S +0000", &tm);
    cache.second = second;
  }
  return cache;
}

// The decision and the reason as the line names them; empty for none.
std::string_view decision_name(const AccessNote& n) noexcept {
  return n.has_cors() ? cors::kind_name(n.kind()) : std::string_view();
}
std::string_view rejection_name(const AccessNote& n) noexcept {
  return n.reason() == cors::RejectReason::none ? std::string_view() : cors::reason_name(n.reason());
}

std::string_view version_text(unsigned version) noexcept {
  return version == 10 ? "HTTP/1.0" : version == 20 ? "HTTP/2.0" : "HTTP/1.1";
}

void write_json(const AccessRecord& r, LineWriter& w) {
  using namespace std::chrono;
  const auto since_epoch = r.time.time_since_epoch();
  const TimeText& t = time_text(static_cast<std::time_t>(duration_cast<seconds>(since_epoch).count()));
  w.put("{\"time\":\"");
  w.put(t.iso);
  w.put('.');
  w.padded(static_cast<unsigned>(duration_cast<milliseconds>(since_epoch).count() % 1000), 3);
  w.put("Z\",\"peer\":");
  w.json(r.peer, kMaxShortField);  // an address, or "unknown"
  w.put(",\"method\":");
  w.json(r.method, kMaxShortField);
  w.put(",\"path\":");
  w.json(r.target, kMaxTarget);
  w.put(",\"version\":\"");
  w.put(version_text(r.version));
  w.put("\",\"status\":");
  w.number(r.status);
  w.put(",\"bytes\":");
  w.number(r.body_bytes);
  w.put(",\"duration\":");
  w.seconds(r.duration);
  w.put(",\"origin\":");
  w.json(r.origin, kMaxShortField);
  w.put(",\"referer\":");
  w.json(r.referer, kMaxReferer);
  w.put(",\"user_agent\":");
  w.json(r.user_agent, kMaxShortField);
  const AccessNote& note = *r.note;
  // The names are snake_case ASCII: nothing to escape.
  w.put(",\"cors\":");
  w.quoted_or_null(decision_name(note));
  w.put(",\"reason\":");
  w.quoted_or_null(rejection_name(note));
  w.put(",\"upstream\":");
  w.json(note.upstream(), kMaxShortField);
  w.put(",\"upstream_time\":");
  w.seconds_or(note.upstream_time(), "null");
  w.put("}\n");
}

// The combined log format (Apache's, nginx's default), then corsd's fields
// as key=value.
void write_combined(const AccessRecord& r, LineWriter& w) {
  using namespace std::chrono;
  const auto since_epoch = r.time.time_since_epoch();
  const TimeText& t = time_text(static_cast<std::time_t>(duration_cast<seconds>(since_epoch).count()));
  w.escaped(r.peer, kMaxShortField);
  w.put(" - - [");
  w.put(t.combined);
  w.put("] \"");
  w.escaped(r.method, kMaxShortField);
  w.put(' ');
  w.escaped(r.target, kMaxTarget);
  w.put(' ');
  w.put(version_text(r.version));
  w.put("\" ");
  w.number(r.status);
  w.put(' ');
  if (r.body_bytes == 0) {
    w.put('-');
  } else {
    w.number(r.body_bytes);
  }
  w.put(" \"");
  w.escaped(r.referer, kMaxReferer);
  w.put("\" \"");
  w.escaped(r.user_agent, kMaxShortField);
  w.put("\" origin=\"");
  w.escaped(r.origin, kMaxShortField);
  const AccessNote& note = *r.note;
  w.put("\" cors=");
  w.escaped(decision_name(note), kMaxShortField);
  w.put(" reason=");
  w.escaped(rejection_name(note), kMaxShortField);
  w.put(" upstream=");
  w.escaped(note.upstream(), kMaxShortField);
  w.put(" upstream_time=");
  w.seconds_or(note.upstream_time(), "-");
  w.put(" duration=");
  w.seconds(r.duration);
  w.put('\n');
}

// Opens `path` for appending; -1 and errno on failure. "-" is standard
// output, never closed; "/dev/stderr" a copy of standard error (which under
// systemd is a socket that cannot be opened by name).
int open_log(const std::string& path) {
  if (path == "-") return STDOUT_FILENO;
  if (path == "/dev/stderr") return ::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

void close_log(int fd) {
  if (fd >= 0 && fd != STDOUT_FILENO) ::close(fd);
}

std::string open_error(const std::string& path) {
  return "cannot open the access log \"" + path + "\": " + std::strerror(errno) +
         "\n  fix: give a file in a folder corsd may write to, \"-\" for standard output, or \"\" for no access log";
}

}  // namespace

std::size_t format_access_line(const AccessRecord& record, AccessLogFormat format, std::span<char> out) noexcept {
  LineWriter w(out.first(std::min(out.size(), kMaxAccessLine)));
  if (format == AccessLogFormat::json) {
    write_json(record, w);
  } else {
    write_combined(record, w);
  }
  return w.size();
}

// One worker's queue of lines: a byte ring with one producer (the worker)
// and one consumer (the writer thread).
class AccessLog::Ring {
 public:
  explicit Ring(std::size_t capacity) : data_(new char[capacity]), capacity_(capacity) {}

  bool push(std::string_view line) noexcept {
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    const std::uint64_t tail = tail_.load(std::memory_order_acquire);
    if (capacity_ - (head - tail) < line.size()) {
      dropped.add();
      return false;
    }
    const std::size_t at = head % capacity_;
    const std::size_t first = std::min(line.size(), capacity_ - at);
    std::memcpy(data_.get() + at, line.data(), first);
    std::memcpy(data_.get(), line.data() + first, line.size() - first);
    head_.store(head + line.size(), std::memory_order_release);
    lines.add();
    return true;
  }

  // Bytes ever pushed: a position in the ring.
  std::uint64_t pushed() const noexcept { return head_.load(std::memory_order_acquire); }

  // Hands what is queued up to position `until` to `write` (one or two
  // pieces), then frees it.
  template <typename Write>
  void drain(std::uint64_t until, Write&& write) {
    const std::uint64_t head = std::min(until, head_.load(std::memory_order_acquire));
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (head <= tail) return;
    const std::size_t at = tail % capacity_;
    const std::size_t size = head - tail;
    const std::size_t first = std::min(size, capacity_ - at);
    write(std::string_view(data_.get() + at, first));
    if (first < size) write(std::string_view(data_.get(), size - first));
    tail_.store(head, std::memory_order_release);
  }

  Counter lines;    // written by the worker only
  Counter dropped;  // idem: a full ring

 private:
  std::unique_ptr<char[]> data_;
  const std::size_t capacity_;
  std::atomic<std::uint64_t> head_{0};  // bytes ever pushed
  std::atomic<std::uint64_t> tail_{0};  // bytes ever drained
};

// The thread that empties the rings into the file, a few times a second.
// It alone writes; a switch of files is handed to it and takes effect after
// what was queued for the old one.
class AccessLog::Writer {
 public:
  Writer(unsigned workers, std::size_t ring_bytes) {
    for (unsigned i = 0; i < workers; ++i) rings_.push_back(std::make_unique<Ring>(ring_bytes));
    switch_at_.resize(workers);
    until_.resize(workers);
    everything_.assign(workers, UINT64_MAX);
    thread_ = std::thread([this] { run(); });
  }
  ~Writer() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
    close_log(fd_);
    close_log(next_fd_);
  }

  // Hands `fd` (or -1: no file) to the writer.
  // Lines queued from now on go to the new file.
  void switch_to(int fd, std::string path) {
    {
      std::lock_guard lock(mutex_);
      close_log(next_fd_);
      next_fd_ = fd;
      if (!switching_) {
        for (std::size_t i = 0; i < rings_.size(); ++i) switch_at_[i] = rings_[i]->pushed();
      }
      switching_ = true;
      path_ = std::move(path);
    }
    wake_.notify_one();
  }
  std::string path() {
    std::lock_guard lock(mutex_);
    return path_;
  }

  Ring& ring(unsigned worker) noexcept { return *rings_[worker]; }
  std::uint64_t lines() const noexcept {
    std::uint64_t n = 0;
    for (const auto& ring : rings_) n += ring->lines.value();
    return n;
  }
  std::uint64_t dropped() const noexcept {
    std::uint64_t n = write_failures_.load(std::memory_order_relaxed);
    for (const auto& ring : rings_) n += ring->dropped.value();
    return n;
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stopping_ || switching_; });
      const bool stopping = stopping_;
      const bool switching = switching_;
      // Lines queued before a switch go to the file in use, if there is one.
      if (switching) until_ = switch_at_;  // the same size: no allocation
      lock.unlock();
      drain_all(switching ? until_ : everything_);
      lock.lock();
      if (switching) {
        close_log(fd_);
        fd_ = next_fd_;
        next_fd_ = -1;
        give_up_at_ = {};
        struct stat st {};
        fd_is_stream_ = fd_ >= 0 && ::fstat(fd_, &st) == 0 && !S_ISREG(st.st_mode);
        switching_ = false;
        lock.unlock();
        drain_all(everything_);
        lock.lock();
      }
      if (stopping) return;
    }
  }

  void drain_all(const std::vector<std::uint64_t>& until) {
    for (std::size_t i = 0; i < rings_.size(); ++i) {
      rings_[i]->drain(until[i], [this](std::string_view bytes) { write_all(bytes); });
    }
  }

  // Writes `bytes`. To a pipe or socket, a pipe's worth at a time once
  // poll() says it fits, so a reader that stops reading never blocks this
  // thread for good: the rings fill and drop meanwhile. A switch of files
  // or a stop waits kGiveUp at most for a stalled one, over all the rings.
  void write_all(std::string_view bytes) {
    while (!bytes.empty() && fd_ >= 0) {
      pollfd p{fd_, POLLOUT, 0};
      const int ready = ::poll(&p, 1, 100);
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) {
        if (!stopping_.load() && !switching_.load()) continue;
        const auto now = std::chrono::steady_clock::now();
        if (give_up_at_ == std::chrono::steady_clock::time_point{}) give_up_at_ = now + kGiveUp;
        if (now >= give_up_at_) break;
        continue;
      }
      if ((p.revents & (POLLERR | POLLNVAL)) != 0) break;
      const std::size_t size = fd_is_stream_ ? std::min<std::size_t>(bytes.size(), PIPE_BUF) : bytes.size();
      const ssize_t n = ::write(fd_, bytes.data(), size);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) break;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    // What could not be written (a full disk, a closed pipe) is counted as dropped lines.
    write_failures_.fetch_add(static_cast<std::uint64_t>(std::count(bytes.begin(), bytes.end(), '\n')),
                              std::memory_order_relaxed);
  }

  std::vector<std::unique_ptr<Ring>> rings_;
  std::mutex mutex_;
  std::vector<std::uint64_t> switch_at_;  // under mutex_: where each ring's lines for the new file begin
  std::vector<std::uint64_t> until_;      // the writer's copy of switch_at_
  std::vector<std::uint64_t> everything_;
  std::condition_variable wake_;
  static constexpr std::chrono::seconds kGiveUp{1};

  int fd_ = -1;  // the writer thread's own
  // While a switch or a stop waits on a stalled file: when it stops waiting.
  std::chrono::steady_clock::time_point give_up_at_{};
  bool fd_is_stream_ = false;
  int next_fd_ = -1;  // under mutex_
  std::string path_;  // under mutex_
  // Set under mutex_; read without it by a write that waits.
  std::atomic<bool> switching_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> write_failures_{0};
  std::thread thread_;
};

AccessLog::AccessLog(unsigned workers, std::size_t ring_bytes)
    : writer_(std::make_unique<Writer>(workers, ring_bytes)) {}

AccessLog::~AccessLog() = default;

std::string AccessLog::configure(const std::string& path, AccessLogFormat format) {
  if (path.empty()) {
    enabled_.store(false, std::memory_order_relaxed);
    writer_->switch_to(-1, path);
    return {};
  }
  const int fd = open_log(path);
  if (fd < 0) return open_error(path);
  // The new file gets lines of the new format only; the old one may end
  // with a few of them.
  format_.store(format, std::memory_order_relaxed);
  writer_->switch_to(fd, path);
  enabled_.store(true, std::memory_order_relaxed);
  return {};
}

std::string AccessLog::reopen() {
  const std::string path = writer_->path();
  if (path.empty() || path == "-") return {};
  const int fd = open_log(path);
  if (fd < 0) return open_error(path);
  writer_->switch_to(fd, path);
  return {};
}

void AccessLog::append(unsigned worker, std::string_view line) noexcept { writer_->ring(worker).push(line); }

std::uint64_t AccessLog::lines() const noexcept { return writer_->lines(); }
std::uint64_t AccessLog::dropped() const noexcept { return writer_->dropped(); }

}  // namespace corsd::http
