// Bad input, slow clients and floods against the real corsd: each gets a
// clear answer or a timely close, and none of it stalls other clients.

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <fstream>
#include <memory>
#include <thread>

#include "corsd_process.hpp"

namespace corsd::test {
namespace {

const std::string kGood = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

class BadInputTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    corsd_ = std::make_unique<CorsdProcess>(
        std::vector<std::string>{"--threads", std::to_string(GetParam()), "--header-timeout", "1", "--idle-timeout",
                                 "2", "--body-timeout", "1", "--max-body", "65536", "--max-header-bytes", "4096"});
  }
  std::uint16_t port() const { return corsd_->api_port(); }

  // The server still answers a well-formed request on a new connection.
  void expect_still_serving() {
    const auto r = exchange(port(), kGood);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  // `bytes` are answered with `status` and the connection is closed.
  void expect_answer_and_close(const std::string& bytes, int status) {
    Client c(port());
    c.send(bytes);
    const auto r = c.read_response();
    ASSERT_TRUE(r) << bytes.substr(0, 80);
    EXPECT_EQ(r->status, status) << bytes.substr(0, 80);
    EXPECT_EQ(r->header("connection"), "close");
    EXPECT_TRUE(c.closed_within(3s));
    expect_still_serving();
  }

  std::unique_ptr<CorsdProcess> corsd_;
};

TEST_P(BadInputTest, MalformedRequestLineIs400) { expect_answer_and_close("GET\r\n\r\n", 400); }

TEST_P(BadInputTest, GarbageIs400) {
  expect_answer_and_close(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc", 9) + "\r\n\r\n", 400);
}

TEST_P(BadInputTest, MalformedHeaderLineIs400) {
  expect_answer_and_close("GET / HTTP/1.1\r\nHost: a\r\nno colon here\r\n\r\n", 400);
}

TEST_P(BadInputTest, MissingHostInHttp11Is400) { expect_answer_and_close("GET / HTTP/1.1\r\n\r\n", 400); }

TEST_P(BadInputTest, ConflictingContentLengthsAre400) {
  expect_answer_and_close("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400);
}

TEST_P(BadInputTest, ContentLengthWithChunkedIs400) {
  expect_answer_and_close(
      "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 400);
}

// RFC 9112 §6.3: without a final "chunked" the body's end is unknown; read
// as empty, the body would become a second, smuggled request.
TEST_P(BadInputTest, TransferEncodingNotEndingInChunkedIs400) {
  for (const char* te : {"gzip", "chunked, gzip", "identity", "xchunked"}) {
    Client c(port());
    c.send(std::string("POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ") + te +
           "\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n");
    const auto r = c.read_response();
    ASSERT_TRUE(r) << te;
    EXPECT_EQ(r->status, 400) << te;
    EXPECT_FALSE(c.read_response(1s)) << te << ": the smuggled request was answered";
  }
}

TEST_P(BadInputTest, ChunkedInHttp10Is400) {
  expect_answer_and_close(
      "POST /a HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 400);
}

TEST_P(BadInputTest, BadChunkIs400) {
  expect_answer_and_close("PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n", 400);
}

TEST_P(BadInputTest, UnsupportedVersionIs505) { expect_answer_and_close("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505); }

TEST_P(BadInputTest, MalformedVersionIs400) {
  expect_answer_and_close("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400);
  expect_answer_and_close("GET / HTTP/x.y\r\nHost: a\r\n\r\n", 400);
}

TEST_P(BadInputTest, EndlessChunkExtensionIs431) {
  expect_answer_and_close("PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;" + std::string(30000, 'a'),
                          431);
}

TEST_P(BadInputTest, EndlessTrailerIs431) {
  expect_answer_and_close(
      "PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-A: " + std::string(30000, 'a'),
      431);
}

// The Content-Length alone decides: the body is never read, let alone buffered.
TEST_P(BadInputTest, BodyOverTheLimitIs413BeforeItIsSent) {
  Client c(port());
  c.send("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000000\r\n\r\n");
  const auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(c.closed_within(4s));
  expect_still_serving();
}

TEST_P(BadInputTest, ChunkedBodyOverTheLimitIs413) {
  Client c(port());
  c.send("PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
  const std::string chunk(16 * 1024, 'x');
  std::string chunks;
  for (int i = 0; i < 6; ++i) chunks += "4000\r\n" + chunk + "\r\n";
  c.send(chunks);
  const auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  expect_still_serving();
}

TEST_P(BadInputTest, BodyAtTheLimitIsAccepted) {
  const std::string body(65536, 'b');
  const auto r = exchange(port(), "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 65536\r\n\r\n" + body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

// The limit's edges, for both framings: --max-body 65536 takes exactly
// 65536 bytes and refuses 65537.
TEST_P(BadInputTest, BodyOneByteOverTheLimitIs413) {
  expect_answer_and_close("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 65537\r\n\r\n" + std::string(65537, 'b'), 413);
}

TEST_P(BadInputTest, ChunkedBodyAtTheLimitIsAcceptedAndOneByteOverIs413) {
  const std::string chunk(16 * 1024, 'c');
  std::string at_limit;
  for (int i = 0; i < 4; ++i) at_limit += "4000\r\n" + chunk + "\r\n";
  const auto r =
      exchange(port(), "PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + at_limit + "0\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find(chunk), std::string::npos);
  expect_answer_and_close(
      "PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + at_limit + "1\r\nc\r\n0\r\n\r\n", 413);
}

TEST_P(BadInputTest, HeaderBlockOverTheLimitIs431) {
  expect_answer_and_close("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(5000, 'a') + "\r\n\r\n", 431);
}

TEST_P(BadInputTest, TooManyHeaderFieldsAre431) {
  std::string many;
  for (int i = 0; i < 150; ++i) many += "X-" + std::to_string(i) + ": 1\r\n";
  expect_answer_and_close("GET / HTTP/1.1\r\nHost: a\r\n" + many + "\r\n", 431);
}

TEST_P(BadInputTest, EndlessRequestLineWithoutNewlineIs414) {
  expect_answer_and_close("GET /" + std::string(8000, 'a'), 414);
}

TEST_P(BadInputTest, EndlessFieldWithoutNewlineIs431) {
  expect_answer_and_close("GET / HTTP/1.1\r\nHost: a\r\nX-Long: " + std::string(8000, 'a'), 431);
}

TEST_P(BadInputTest, ClientThatStopsSendingHeadersIsTimedOut) {
  Client slow(port());
  slow.send("GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ");
  expect_still_serving();  // others are not stalled meanwhile
  EXPECT_TRUE(slow.closed_within(4s));
}

TEST_P(BadInputTest, TricklingHeadersDoNotExtendTheHeaderTimeout) {
  Client slow(port());
  slow.send("GET / HTTP/1.1\r\n");
  bool closed = false;
  for (int i = 0; i < 30 && !closed; ++i) {
    slow.send("X: y\r\n");
    closed = slow.closed_within(200ms);
  }
  EXPECT_TRUE(closed);
}

TEST_P(BadInputTest, ClientThatStopsSendingTheBodyIsTimedOut) {
  Client slow(port());
  slow.send("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\npartial");
  expect_still_serving();
  EXPECT_TRUE(slow.closed_within(4s));
}

TEST_P(BadInputTest, IdleKeepAliveConnectionIsClosed) {
  Client c(port());
  c.send(kGood);
  ASSERT_TRUE(c.read_response());
  EXPECT_TRUE(c.closed_within(5s));
}

TEST_P(BadInputTest, SilentConnectionIsClosedAfterTheHeaderTimeout) {
  Client c(port());
  EXPECT_TRUE(c.closed_within(4s));
}

// A kept-alive connection gives its buffers back after 1 s idle; the idle
// timeout (2 s here) still counts from its last answer, not from then.
TEST_P(BadInputTest, KeepAliveConnectionIsClosedAtTheIdleTimeoutNotLater) {
  Client c(port());
  c.send(kGood);
  ASSERT_TRUE(c.read_response());
  const auto answered = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_within(2800ms));
  EXPECT_GE(std::chrono::steady_clock::now() - answered, 1900ms);
}

TEST_P(BadInputTest, ManyIdleConnectionsDoNotStallOthers) {
  std::vector<std::unique_ptr<Client>> idle;
  for (int i = 0; i < 200; ++i) idle.push_back(std::make_unique<Client>(port()));
  for (int i = 0; i < 20; ++i) expect_still_serving();
}

TEST_P(BadInputTest, ClientThatNeverReadsCannotGrowTheServerWithoutBound) {
  Client greedy(port());
  std::string batch;
  for (int i = 0; i < 2000; ++i)
    batch += "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'x');
  std::thread writer([&] { greedy.send(batch); });  // blocks once both socket buffers are full
  std::this_thread::sleep_for(300ms);
  expect_still_serving();
  greedy.abort();  // unblocks the writer
  writer.join();
}

// RFC 9110 §9.3.8: TRACE would reflect cookies and credentials to any
// script that can send one; corsd never answers it. CONNECT is never a 2xx.
TEST_P(BadInputTest, TraceIs405WithAllowAndConnectIs501) {
  Client c(port());
  c.send("TRACE / HTTP/1.1\r\nHost: a\r\nCookie: secret=1\r\n\r\n");
  const auto trace = c.read_response();
  ASSERT_TRUE(trace);
  EXPECT_EQ(trace->status, 405);
  EXPECT_EQ(trace->header("allow"), "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
  EXPECT_EQ(trace->body.find("secret"), std::string::npos);
  expect_answer_and_close("TRACK / HTTP/1.1\r\nHost: a\r\n\r\n", 405);
  expect_answer_and_close("CONNECT api.example:443 HTTP/1.1\r\nHost: api.example:443\r\n\r\n", 501);
}

// RFC 9112 §3.2: origin form, absolute form, and asterisk form for OPTIONS only.
TEST_P(BadInputTest, TargetFormsOtherThanOriginAbsoluteOrOptionsAsteriskAre400) {
  expect_answer_and_close("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  expect_answer_and_close("GET foo HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  expect_answer_and_close("GET api.example:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  const auto options = exchange(port(), "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(options);
  EXPECT_EQ(options->status, 200);
  EXPECT_EQ(options->header("allow"), "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
  EXPECT_EQ(options->body, "");
  const auto absolute = exchange(port(), "GET http://a/x HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_TRUE(absolute);
  EXPECT_EQ(absolute->status, 200);
}

// RFC 9112 §3: a request line over the limit is 414, not 431.
TEST_P(BadInputTest, RequestLineOverTheLimitIs414) {
  expect_answer_and_close("GET /" + std::string(5000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n", 414);
}

// RFC 9112 §3.2, RFC 3986 §3.2.2: Host is uri-host [":" port].
TEST_P(BadInputTest, MalformedHostIs400) {
  for (const char* host : {"a b c", "h:99999", "h:abc", "a, b", "user@evil/x", "[::1", "[zz]:80"}) {
    expect_answer_and_close(std::string("GET / HTTP/1.1\r\nHost: ") + host + "\r\n\r\n", 400);
  }
  for (const char* host : {"localhost", "h:", "h:8080", "127.0.0.1:1", "[::1]:8080", "xn--bcher-kva.example", ""}) {
    const auto r = exchange(port(), std::string("GET / HTTP/1.1\r\nHost: ") + host + "\r\n\r\n");
    ASSERT_TRUE(r) << host;
    EXPECT_EQ(r->status, 200) << host;
  }
}

// RFC 9112 §2.2: empty lines before a request line are ignored, also a
// stray CRLF after a body between pipelined requests.
TEST_P(BadInputTest, EmptyLinesBeforeARequestAreIgnored) {
  Client c(port());
  c.send(
      "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
      "PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok\r\n"
      "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  for (int i = 0; i < 3; ++i) {
    const auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200) << i;
  }
}

// Over --max-connections a client gets 503 with Retry-After, not a reset,
// and the refusal is logged (at most once a second).
TEST(ConnectionLimitTest, OverTheLimitIs503WithRetryAfterAndLogged) {
  CorsdProcess corsd({"--threads", "1", "--no-demo", "--max-connections", "2"});
  Client first(corsd.api_port()), second(corsd.api_port());
  first.send(kGood);
  ASSERT_TRUE(first.read_response());
  second.send(kGood);
  ASSERT_TRUE(second.read_response());
  Client third(corsd.api_port());
  const auto refused = third.read_response();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(refused->header("retry-after"), "1");
  EXPECT_TRUE(third.closed_within(3s));
  EXPECT_NE(corsd.output(3s, "(503)\n").find("refused 1 connection(s) over --max-connections 2 (503)"),
            std::string::npos);
  first.abort();
  second.abort();
  std::this_thread::sleep_for(300ms);  // the server sees them go
  const auto served = exchange(corsd.api_port(), kGood);
  ASSERT_TRUE(served);
  EXPECT_EQ(served->status, 200);
}

// A client that resets with half a request: the reset comes with the last
// bytes, which the kernel hands over first (TCP_INQ says nothing is left),
// and raises no later edge. The connection must go at once, not hold the
// only --max-connections slot until the header timeout (drained_read.hpp).
TEST(ConnectionLimitTest, AClientResettingInsideARequestFreesItsSlotAtOnce) {
  CorsdProcess corsd({"--threads", "1", "--no-demo", "--max-connections", "1", "--header-timeout", "30"});
  for (int attempt = 0; attempt < 3; ++attempt) {
    {
      Client resetting(corsd.api_port());
      std::this_thread::sleep_for(50ms);  // accepted, and waiting for the request's first bytes
      resetting.send("GET / HTTP/1.1\r\nHost: a\r\nX-Half: ");
      const linger reset{1, 0};
      ASSERT_EQ(::setsockopt(resetting.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset), 0);
    }  // closed with SO_LINGER 0: a reset right behind the bytes
    std::optional<HttpResponse> served;
    for (int i = 0; i < 20; ++i) {
      served = exchange(corsd.api_port(), kGood);
      if (served && served->status == 200) break;
      std::this_thread::sleep_for(100ms);
    }
    ASSERT_TRUE(served) << attempt;
    EXPECT_EQ(served->status, 200) << attempt << ": the reset connection still holds the slot";
  }
}

// KiB of `field` ("VmSize", "VmRSS") in /proc/PID/status.
long status_kib(pid_t pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with(field + ":")) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

// A declared Content-Length is a claim, not a size to reserve: with
// --max-body at its largest, a 30 GB claim reserved 30 GB (std::bad_alloc,
// and the connection dropped) and 8 GB took 7.9 GB of address space. The
// body grows as it arrives.
TEST(DeclaredLengthTest, AHugeContentLengthReservesNothingUpFront) {
  CorsdProcess corsd({"--threads", "1", "--no-demo", "--max-body", "1099511627776", "--body-timeout", "5"});
  const long before = status_kib(corsd.pid(), "VmSize");
  std::vector<std::unique_ptr<Client>> clients;
  for (const char* length : {"32212254720", "8589934592"}) {
    clients.push_back(std::make_unique<Client>(corsd.api_port()));
    clients.back()->send(std::string("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: ") + length + "\r\n\r\n" +
                         std::string(4096, 'b'));
  }
  std::this_thread::sleep_for(300ms);
  const long during = status_kib(corsd.pid(), "VmSize");
  // 512 MiB: room for a new malloc arena (64 MiB of address space each), not for gigabytes.
  EXPECT_LT(during - before, 512 * 1024) << "KiB of address space for two connections";
  for (const auto& c : clients) EXPECT_FALSE(c->closed_within(100ms)) << "the body is still being read";
  const auto r = exchange(corsd.api_port(), kGood);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

INSTANTIATE_TEST_SUITE_P(Threads, BadInputTest, ::testing::Values(1, 2),
                         [](const ::testing::TestParamInfo<int>& p) { return "threads" + std::to_string(p.param); });

}  // namespace
}  // namespace corsd::test
