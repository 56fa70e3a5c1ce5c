#pragma once
// Test harness: the real corsd binary as a child process on free loopback
// ports, and a raw-socket HTTP client that sees exactly what went over the wire.

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace corsd::test {

using namespace std::chrono_literals;

// A descriptor, closed on every way out of a test.
class Descriptor {
 public:
  explicit Descriptor(int fd) : fd_(fd) {}
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

class CorsdProcess {
 public:
  // Starts corsd with `args` plus "--listen 127.0.0.1:0 --demo-listen 127.0.0.1:0"
  // and waits for its ready line. With `stderr_reader_gone`, corsd's stderr
  // is a pipe whose reader has already closed it. `before_exec` runs in the
  // child just before corsd replaces it (to restrict what corsd may do).
  explicit CorsdProcess(std::vector<std::string> args, bool stderr_reader_gone = false,
                        void (*before_exec)() = nullptr);
  ~CorsdProcess();
  CorsdProcess(const CorsdProcess&) = delete;
  CorsdProcess& operator=(const CorsdProcess&) = delete;

  pid_t pid() const { return pid_; }
  std::uint16_t api_port() const { return api_port_; }
  std::uint16_t demo_port() const { return demo_port_; }
  const std::string& api_url() const { return api_url_; }
  // What the process printed before its ready line (warnings at start).
  const std::string& startup_output() const { return startup_; }

  // What the process printed (stdout and stderr) since the ready line, up to
  // `timeout` or until `until` appears.
  std::string output(std::chrono::milliseconds timeout, const std::string& until = {});

  // Sends `signal` and returns the exit status, or nullopt if the process
  // had not exited within `timeout`.
  std::optional<int> stop(int signal, std::chrono::milliseconds timeout = 10s);

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::uint16_t api_port_ = 0;
  std::uint16_t demo_port_ = 0;
  std::string api_url_;
  std::string startup_;  // output up to the ready line
  std::string pending_;  // output read past the ready line
};

// Runs corsd with `args` to completion; returns exit status and all output.
struct RunResult {
  int status = -1;
  std::string output;
};
RunResult run_corsd(std::vector<std::string> args, std::chrono::milliseconds timeout = 10s);

struct HttpResponse {
  int status = 0;
  std::multimap<std::string, std::string> headers;  // names lowercased
  std::string body;

  std::string header(const std::string& lowercase_name) const;
  bool has(const std::string& lowercase_name) const { return headers.count(lowercase_name) != 0; }
};

class Client {
 public:
  // `receive_buffer` > 0 sets SO_RCVBUF before connecting.
  explicit Client(std::uint16_t port, int receive_buffer = 0);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void send(const std::string& bytes);
  // Shuts the socket down both ways, ending a send() blocked in another thread.
  void abort();
  int fd() const { return fd_; }
  // Reads one response; `head` says the request was HEAD (no body follows).
  std::optional<HttpResponse> read_response(std::chrono::milliseconds timeout = 5s, bool head = false);
  // Whether the server closed the connection (EOF or reset) within `timeout`,
  // discarding anything it sent first.
  bool closed_within(std::chrono::milliseconds timeout);
  // Every byte received until `timeout` or the server closes.
  std::string read_all(std::chrono::milliseconds timeout);

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);

  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

// One request and its response on a fresh connection.
std::optional<HttpResponse> exchange(std::uint16_t port, const std::string& request);

}  // namespace corsd::test
