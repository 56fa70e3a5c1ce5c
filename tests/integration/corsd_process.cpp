#include "corsd_process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <regex>
#include <stdexcept>
#include <thread>
#include <utility>

#ifndef CORSD_BIN
#error "CORSD_BIN must name the corsd binary"
#endif

namespace corsd::test {
namespace {

using clock = std::chrono::steady_clock;

int remaining_ms(clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
  return static_cast<int>(std::max<long long>(0, left));
}

// Reads what is available from `fd` into `out`; false on EOF/error/timeout.
bool read_some(int fd, std::string& out, clock::time_point deadline) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, remaining_ms(deadline)) <= 0) return false;
  char buf[65536];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  if (n <= 0) return false;
  out.append(buf, static_cast<std::size_t>(n));
  return true;
}

pid_t spawn(const std::vector<std::string>& args, int& out_fd, bool stderr_reader_gone = false,
            void (*before_exec)() = nullptr) {
  int pipe_fds[2];
  int err_fds[2];
  if (::pipe(pipe_fds) != 0 || ::pipe(err_fds) != 0) throw std::runtime_error("pipe failed");
  ::close(err_fds[0]);  // a reader that is already gone
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(pipe_fds[1], 1);
    ::dup2(stderr_reader_gone ? err_fds[1] : pipe_fds[1], 2);
    ::close(err_fds[1]);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    std::vector<char*> argv;
    std::string bin = CORSD_BIN;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (before_exec) before_exec();
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  ::close(err_fds[1]);
  out_fd = pipe_fds[0];
  return pid;
}

std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  while (clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(10ms);
  }
  return std::nullopt;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

CorsdProcess::CorsdProcess(std::vector<std::string> args, bool stderr_reader_gone, void (*before_exec)()) {
  args.insert(args.begin(), {"--listen", "127.0.0.1:0", "--demo-listen", "127.0.0.1:0"});
  pid_ = spawn(args, stdout_fd_, stderr_reader_gone, before_exec);
  std::string output;
  const auto deadline = clock::now() + 10s;
  const std::regex ready(
      R"(ready: api http://127\.0\.0\.1:(\d+)(?: demo http://127\.0\.0\.1:(\d+)/)?(?: admin http://\S+)?\n)");
  std::smatch m;
  while (!std::regex_search(output, m, ready)) {
    if (!read_some(stdout_fd_, output, deadline)) {
      stop(SIGKILL, 1s);
      throw std::runtime_error("corsd did not start; it printed: " + output);
    }
  }
  startup_ = m.prefix();
  pending_ = m.suffix();
  api_port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
  if (m[2].matched) demo_port_ = static_cast<std::uint16_t>(std::stoi(m[2]));
  api_url_ = "http://127.0.0.1:" + std::to_string(api_port_);
}

std::string CorsdProcess::output(std::chrono::milliseconds timeout, const std::string& until) {
  const auto deadline = clock::now() + timeout;
  while ((until.empty() || pending_.find(until) == std::string::npos) && read_some(stdout_fd_, pending_, deadline)) {
  }
  return std::exchange(pending_, {});
}

CorsdProcess::~CorsdProcess() {
  if (pid_ > 0) stop(SIGKILL, 5s);
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

std::optional<int> CorsdProcess::stop(int signal, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  ::kill(pid_, signal);
  auto status = wait_exit(pid_, timeout);
  if (status) pid_ = -1;
  return status;
}

RunResult run_corsd(std::vector<std::string> args, std::chrono::milliseconds timeout) {
  RunResult r;
  int fd = -1;
  const pid_t pid = spawn(args, fd);
  const auto deadline = clock::now() + timeout;
  while (read_some(fd, r.output, deadline)) {
  }
  ::close(fd);
  auto status = wait_exit(pid, std::chrono::milliseconds(remaining_ms(deadline) + 1000));
  if (!status) ::kill(pid, SIGKILL);
  r.status = status.value_or(-1);
  return r;
}

std::string HttpResponse::header(const std::string& lowercase_name) const {
  const auto it = headers.find(lowercase_name);
  return it == headers.end() ? std::string() : it->second;
}

Client::Client(std::uint16_t port, int receive_buffer) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (receive_buffer > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("connect failed: " + std::string(std::strerror(errno)));
  }
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

void Client::send(const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;  // the server closed; reads will tell
    sent += static_cast<std::size_t>(n);
  }
}

void Client::abort() { ::shutdown(fd_, SHUT_RDWR); }

bool Client::fill(clock::time_point deadline) {
  if (eof_) return false;
  if (!read_some(fd_, buffer_, deadline)) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) > 0) eof_ = true;  // readable but nothing read: EOF or reset
    return false;
  }
  return true;
}

std::optional<HttpResponse> Client::read_response(std::chrono::milliseconds timeout, bool head) {
  const auto deadline = clock::now() + timeout;
  std::size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill(deadline)) return std::nullopt;
  }
  HttpResponse r;
  std::string head_block = buffer_.substr(0, end);
  std::size_t line_end = head_block.find("\r\n");
  const std::string status_line = head_block.substr(0, line_end);
  if (status_line.rfind("HTTP/1.1 ", 0) != 0) return std::nullopt;
  r.status = std::stoi(status_line.substr(9, 3));
  while (line_end != std::string::npos) {
    const std::size_t start = line_end + 2;
    line_end = head_block.find("\r\n", start);
    const std::string line =
        head_block.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    r.headers.emplace(lower(line.substr(0, colon)), value);
  }
  buffer_.erase(0, end + 4);
  const bool bodyless = head || r.status == 204 || r.status == 304 || r.status / 100 == 1;
  const std::size_t length = bodyless || !r.has("content-length") ? 0 : std::stoul(r.header("content-length"));
  while (buffer_.size() < length) {
    if (!fill(deadline)) return std::nullopt;
  }
  r.body = buffer_.substr(0, length);
  buffer_.erase(0, length);
  return r;
}

bool Client::closed_within(std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  while (clock::now() < deadline) {
    if (!fill(deadline) && eof_) return true;
    buffer_.clear();
  }
  return eof_;
}

std::string Client::read_all(std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  while (fill(deadline)) {
  }
  return std::exchange(buffer_, {});
}

std::optional<HttpResponse> exchange(std::uint16_t port, const std::string& request) {
  Client c(port);
  c.send(request);
  return c.read_response();
}

}  // namespace corsd::test
