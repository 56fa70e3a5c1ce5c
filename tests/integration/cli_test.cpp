// corsd as a user first meets it: --help, --version, mistakes on the command
// line, a port already taken, and the demo page on its own origin.

#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "corsd_process.hpp"

namespace corsd::test {
namespace {

TEST(CliTest, HelpListsTheFlagsAndExitsZero) {
  const RunResult r = run_corsd({"--help"});
  EXPECT_EQ(r.status, 0);
  for (const char* flag : {"--listen", "--demo-listen", "--no-demo", "--max-body", "--threads", "--version"}) {
    EXPECT_NE(r.output.find(flag), std::string::npos) << flag;
  }
}

TEST(CliTest, VersionPrintsTheVersion) {
  const RunResult r = run_corsd({"--version"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output.rfind("corsd ", 0), 0u) << r.output;
}

TEST(CliTest, MalformedListenAddressIsRefusedNamingTheFlag) {
  const RunResult r = run_corsd({"--listen", "localhost"});
  EXPECT_EQ(r.status, 2);  // every refusal at start: README, "Exit status"
  EXPECT_NE(r.output.find("--listen"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("HOST:PORT"), std::string::npos) << r.output;
}

TEST(CliTest, TimeoutsOutOfRangeAreRefused) {
  for (const char* value : {"0.0001", "1e300", "0", "nan", "-nan", "inf", "5s"}) {
    for (const char* flag : {"--header-timeout", "--body-timeout", "--idle-timeout", "--shutdown-timeout",
                             "--upstream-connect-timeout", "--upstream-response-timeout", "--upstream-idle-timeout"}) {
      const bool allowed = std::string_view(flag) == "--shutdown-timeout" &&
                           (std::string_view(value) == "0" || std::string_view(value) == "0.0001");  // from 0
      if (allowed) continue;
      const RunResult r = run_corsd({flag, value, "--listen", "127.0.0.1:0", "--no-demo"}, 3s);
      EXPECT_NE(r.status, 0) << flag << " " << value;
      EXPECT_NE(r.output.find(flag), std::string::npos) << r.output;
    }
  }
}

TEST(CliTest, UnknownFlagIsRefused) {
  const RunResult r = run_corsd({"--frobnicate"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("frobnicate"), std::string::npos) << r.output;
  const RunResult missing = run_corsd({"--listen"});
  EXPECT_EQ(missing.status, 2) << missing.output;
  const RunResult excluded = run_corsd({"--config", "a.toml", "--check-config", "a.toml"});
  EXPECT_EQ(excluded.status, 2) << excluded.output;
}

TEST(CliTest, PortInUseIsAClearErrorNotACrash) {
  const int holder = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(holder, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(holder, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string taken = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  const RunResult r = run_corsd({"--listen", taken, "--no-demo", "--threads", "1"});
  ::close(holder);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("cannot listen on 127.0.0.1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--listen"), std::string::npos) << r.output;
}

TEST(CliTest, ASecondServerCannotShareAPortThroughReusePort) {
  CorsdProcess first({"--no-demo", "--threads", "2"});
  const std::string taken = "127.0.0.1:" + std::to_string(first.api_port());
  const RunResult second = run_corsd({"--listen", taken, "--no-demo", "--threads", "2"});
  EXPECT_EQ(second.status, 2) << second.output;
  EXPECT_NE(second.output.find("cannot listen on 127.0.0.1"), std::string::npos) << second.output;
}

// SO_REUSEPORT would let a socket of the same user join the workers' group
// after corsd started and take a share of its connections (a third of them
// here); corsd's group hands connections to its own sockets only.
TEST(CliTest, ASocketThatJoinsThePortLaterGetsNoConnection) {
  CorsdProcess corsd({"--no-demo", "--threads", "2"});
  const Descriptor late_socket(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
  const int late = late_socket.get();
  ASSERT_GE(late, 0);
  const int one = 1;
  ASSERT_EQ(::setsockopt(late, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one), 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(corsd.api_port());
  ASSERT_EQ(::bind(late, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(late, 128), 0);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 90; ++i) clients.push_back(std::make_unique<Client>(corsd.api_port()));
  int stolen = 0;
  for (int c; (c = ::accept(late, nullptr, nullptr)) >= 0; ++stolen) ::close(c);
  EXPECT_EQ(stolen, 0);
  for (auto& client : clients) {
    client->send("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
    const auto response = client->read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
  }
}

// In the child about to become corsd: socket(AF_NETLINK, ...) fails with
// EAFNOSUPPORT, as under a systemd unit whose RestrictAddressFamilies lacks
// it, and attaching a SO_REUSEPORT program fails with EPERM, as under a
// stricter system call filter or an older kernel.
void deny_port_guard_checks() {
  constexpr std::uint32_t kArg0 = offsetof(seccomp_data, args);
  constexpr std::uint32_t kArg2 = kArg0 + 2 * sizeof(std::uint64_t);  // the low half, on a little-endian machine
  constexpr std::uint32_t kArg1 = kArg0 + sizeof(std::uint64_t);
  // Jump offsets count from the next instruction; every "no" ends at the last, ALLOW.
  std::array<sock_filter, 12> code = {{
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArg0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_NETLINK, 0, 7),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EAFNOSUPPORT),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_setsockopt, 0, 5),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArg1),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SOL_SOCKET, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArg2),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SO_ATTACH_REUSEPORT_CBPF, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  }};
  sock_fprog program{static_cast<unsigned short>(code.size()), code.data()};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
    const char reason[] = "the test could not install its seccomp filter\n";
    [[maybe_unused]] const ssize_t ignored = ::write(2, reason, sizeof reason - 1);
    ::_exit(126);
  }
}

// Where the port guard cannot check (no netlink) or cannot filter the group,
// corsd still serves, and its log says what is not guarded.
TEST(CliTest, APortGuardThatCannotRunIsAWarningNotARefusal) {
  CorsdProcess corsd({"--no-demo", "--threads", "2"}, false, deny_port_guard_checks);
  const std::string& startup = corsd.startup_output();
  EXPECT_NE(startup.find("warning: cannot read the kernel's socket table (Address family not supported"),
            std::string::npos)
      << startup;
  EXPECT_NE(startup.find("warning: cannot filter 127.0.0.1:" + std::to_string(corsd.api_port()) +
                         "'s SO_REUSEPORT group (Operation not permitted)"),
            std::string::npos)
      << startup;
  const auto response = exchange(corsd.api_port(), "GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}

TEST(CliTest, MissingJqueryIsAClearError) {
  const RunResult r =
      run_corsd({"--listen", "127.0.0.1:0", "--demo-listen", "127.0.0.1:0", "--jquery", "/nonexistent/jq.js"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("npm ci"), std::string::npos) << r.output;
}

TEST(DemoSiteTest, PageOnItsOwnOriginCallsTheApiOrigin) {
  CorsdProcess corsd({"--threads", "1"});
  ASSERT_NE(corsd.demo_port(), corsd.api_port());
  const auto page = exchange(corsd.demo_port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(page->body.find(corsd.api_url()), std::string::npos);
  EXPECT_EQ(page->body.find("__CORSD_API_ORIGIN__"), std::string::npos);
  EXPECT_FALSE(page->has("access-control-allow-origin"));  // same-origin page
  const auto jquery = exchange(corsd.demo_port(), "GET /vendor/jquery.min.js HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(jquery);
  EXPECT_EQ(jquery->status, 200);
  EXPECT_NE(jquery->body.find("jQuery"), std::string::npos);
}

TEST(DemoSiteTest, NoDemoServesTheApiOnly) {
  CorsdProcess corsd({"--no-demo", "--threads", "1"});
  EXPECT_EQ(corsd.demo_port(), 0);  // the ready line names no demo
  const auto r = exchange(corsd.api_port(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

}  // namespace
}  // namespace corsd::test
