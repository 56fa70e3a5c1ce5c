// The seed's system end to end: the real corsd binary, spoken to over
// loopback sockets. Every test runs with one worker thread and with two.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>

#include <thread>

#include "corsd_process.hpp"
#include "tcp_info.hpp"

namespace corsd::test {
namespace {

const std::string kEchoPrefix = "Thank You For The Cross-Domain AJAX Request:\n\nMethod: ";

std::string request(const std::string& method, const std::string& extra_headers, const std::string& body = {}) {
  std::string r = method + " /some/url/resource/path HTTP/1.1\r\nHost: localhost\r\n" + extra_headers;
  if (!body.empty()) r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return r + "\r\n" + body;
}

class SeedApiTest : public ::testing::TestWithParam<int> {
 protected:
  std::vector<std::string> args(std::vector<std::string> extra = {}) {
    extra.insert(extra.end(), {"--threads", std::to_string(GetParam())});
    return extra;
  }
  void SetUp() override { corsd_ = std::make_unique<CorsdProcess>(args()); }
  std::uint16_t port() const { return corsd_->api_port(); }

  std::unique_ptr<CorsdProcess> corsd_;
};

TEST_P(SeedApiTest, PreflightAnswers204WithTheSeedsHeaders) {
  const auto r = exchange(port(), request("OPTIONS",
                                          "Origin: http://localhost:8081\r\n"
                                          "Access-Control-Request-Method: PUT\r\n"
                                          "Access-Control-Request-Headers: content-type\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->header("access-control-allow-origin"), "http://localhost:8081");
  EXPECT_EQ(r->header("access-control-allow-methods"), "GET, POST, PUT, DELETE, OPTIONS");
  EXPECT_EQ(r->header("access-control-allow-headers"), "content-type, accept");
  EXPECT_EQ(r->header("access-control-max-age"), "10");
  EXPECT_FALSE(r->has("content-length"));  // RFC 9110 §8.6: never on a 204
  EXPECT_EQ(r->header("vary"), "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
  EXPECT_TRUE(r->has("date"));
  EXPECT_EQ(r->headers.size(), 6u);  // the 5 above and Date
  EXPECT_EQ(r->body, "");
}

TEST_P(SeedApiTest, PutEchoesMethodAndBodyWithCorsHeaders) {
  const std::string body = R"({"name":"Tricia","age":37})";
  const auto r = exchange(port(), request("PUT",
                                          "Origin: http://localhost:8081\r\n"
                                          "Content-Type: application/json\r\n",
                                          body));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, kEchoPrefix + "PUT\n\n" + body);
  EXPECT_EQ(r->header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r->header("access-control-allow-origin"), "http://localhost:8081");
  EXPECT_EQ(r->header("vary"), "Origin");
}

TEST_P(SeedApiTest, OptionsWithoutRequestMethodIsAnOrdinaryRequest) {
  const auto r = exchange(port(), request("OPTIONS", "Origin: http://localhost:8081\r\n"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, kEchoPrefix + "OPTIONS\n\n");
  EXPECT_FALSE(r->has("access-control-allow-methods"));
}

TEST_P(SeedApiTest, RequestWithoutOriginGetsWildcardAndVary) {
  const auto r = exchange(port(), request("DELETE", ""));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("access-control-allow-origin"), "*");
  EXPECT_EQ(r->header("vary"), "Origin");
  EXPECT_EQ(r->body, kEchoPrefix + "DELETE\n\n");
}

TEST_P(SeedApiTest, ChunkedBodyIsReadWhole) {
  const auto r = exchange(port(),
                          "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nTrailer: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, kEchoPrefix + "POST\n\nhello, world");
}

// Trailers come after the body: an Origin (or Cookie, or Host) there is not a
// request header and must not steer the CORS decision.
TEST_P(SeedApiTest, TrailerFieldsAreNotRequestHeaders) {
  const auto r = exchange(port(),
                          "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "2\r\nhi\r\n0\r\nOrigin: http://evil.example\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("access-control-allow-origin"), "*");  // as for any request without Origin
  EXPECT_EQ(r->body, kEchoPrefix + "POST\n\nhi");
}

TEST_P(SeedApiTest, AbsoluteFormTargetIsRoutedByItsPath) {
  const auto r = exchange(port(),
                          "OPTIONS http://localhost:8080/some/url?x=1 HTTP/1.1\r\nHost: localhost:8080\r\n"
                          "Origin: http://localhost:8081\r\nAccess-Control-Request-Method: PUT\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->header("access-control-allow-origin"), "http://localhost:8081");
}

// A client that sends more after a "Connection: close" request still gets
// the whole answer: the server reads what follows instead of resetting the
// connection under the answer (RFC 9112 §9.6).
TEST_P(SeedApiTest, CloseDoesNotResetUnderALargeAnswer) {
  Client c(port(), 4096);  // a small receive window keeps most of the answer queued at the server
  const std::string body(1000000, 'b');
  c.send("PUT /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 1000000\r\n\r\n" + body);
  std::this_thread::sleep_for(200ms);
  c.send(request("GET", ""));  // arrives after the server decided to close
  const auto r = c.read_response(10s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.size(), kEchoPrefix.size() + 5 + body.size());
}

TEST_P(SeedApiTest, Http10ExpectIsIgnored) {
  Client c(port());
  c.send("PUT /x HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello");
  const auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, kEchoPrefix + "PUT\n\nhello");
}

TEST_P(SeedApiTest, OneMebibyteBodyComesBackByteExact) {
  std::string body(1024 * 1024, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  const auto r = exchange(port(), request("PUT", "", body));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-length"), std::to_string(kEchoPrefix.size() + 5 + body.size()));
  EXPECT_TRUE(r->body == kEchoPrefix + "PUT\n\n" + body);
}

TEST_P(SeedApiTest, NonAsciiBodyComesBackByteExact) {
  const std::string body = "{\"name\":\"Zo\xc3\xab \xe6\x97\xa5\xe6\x9c\xac\"}";
  const auto r = exchange(port(), request("PUT", "Content-Type: application/json\r\n", body));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, kEchoPrefix + "PUT\n\n" + body);
  EXPECT_EQ(r->header("content-length"), std::to_string(r->body.size()));
}

TEST_P(SeedApiTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  Client c(port());
  for (const char* method : {"PUT", "DELETE", "GET"}) {
    c.send(request(method, "Origin: http://localhost:8081\r\n", "x"));
    const auto r = c.read_response();
    ASSERT_TRUE(r) << method;
    EXPECT_EQ(r->body, kEchoPrefix + method + "\n\nx");
    EXPECT_FALSE(r->has("connection"));
  }
}

// The request and the client's FIN arrive together: the read that takes
// the request must not leave the FIN unseen (drained_read.hpp), or the
// connection would wait until it is shed (1 s) or times out.
TEST_P(SeedApiTest, AClientThatEndsItsSideAfterARequestIsAnsweredThenClosedAtOnce) {
  Client c(port());
  c.send(request("GET", ""));
  ASSERT_TRUE(c.read_response());
  for (int i = 0; i < 2; ++i) {
    c.send(request("PUT", "Origin: http://localhost:8081\r\n", "last"));
    if (i == 1) ::shutdown(c.fd(), SHUT_WR);
    const auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, kEchoPrefix + "PUT\n\nlast");
  }
  EXPECT_TRUE(c.closed_within(std::chrono::milliseconds(700)));
}

TEST_P(SeedApiTest, TenPipelinedRequestsAreAnsweredInOrder) {
  Client c(port());
  std::string batch;
  for (int i = 0; i < 10; ++i) batch += request("PUT", "", "request " + std::to_string(i));
  c.send(batch);
  for (int i = 0; i < 10; ++i) {
    const auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->body, kEchoPrefix + "PUT\n\nrequest " + std::to_string(i));
  }
}

// All ten answers leave in one write: the client's kernel sees one
// data-carrying segment (loopback's MSS holds them all).
TEST_P(SeedApiTest, TenPipelinedRequestsAreAnsweredWithOneWrite) {
  Client c(port());
  c.send(request("GET", ""));
  ASSERT_TRUE(c.read_response());  // the connection is set up and idle
  std::string batch;
  for (int i = 0; i < 10; ++i) {
    batch += request("OPTIONS", "Origin: http://localhost:8081\r\nAccess-Control-Request-Method: PUT\r\n");
  }
  const std::int64_t before = data_segments_in(c.fd());
  ASSERT_GE(before, 0);
  c.send(batch);
  for (int i = 0; i < 10; ++i) {
    const auto r = c.read_response();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 204);
  }
  EXPECT_EQ(data_segments_in(c.fd()) - before, 1);
}

TEST_P(SeedApiTest, HeadGetsHeadersOnlyAndTheConnectionStaysUsable) {
  Client c(port());
  c.send(request("HEAD", "Origin: http://localhost:8081\r\n") + request("GET", ""));
  const auto head = c.read_response(5s, true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  // The Content-Length a GET would get (RFC 9110 §9.3.2): "Method: GET".
  EXPECT_EQ(head->header("content-length"), std::to_string(kEchoPrefix.size() + 5));
  EXPECT_EQ(head->header("access-control-allow-origin"), "http://localhost:8081");
  const auto get = c.read_response();
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body, kEchoPrefix + "GET\n\n");
}

TEST_P(SeedApiTest, ExpectContinueGets100BeforeTheBody) {
  Client c(port());
  c.send("PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  const auto interim = c.read_response();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  c.send("hello");
  const auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, kEchoPrefix + "PUT\n\nhello");
}

TEST_P(SeedApiTest, Http10IsAnsweredAndClosed) {
  Client c(port());
  c.send("GET / HTTP/1.0\r\n\r\n");
  const auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(c.closed_within(2s));
}

TEST_P(SeedApiTest, SigtermLetsTheRequestInFlightFinishThenExitsZero) {
  Client c(port());
  c.send("PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello");
  std::this_thread::sleep_for(200ms);  // the server has the headers and half the body
  Client idle(port());
  std::thread stopper([&] { EXPECT_EQ(corsd_->stop(SIGTERM), 0); });
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(idle.closed_within(3s));
  c.send("world");
  const auto r = c.read_response();
  stopper.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, kEchoPrefix + "PUT\n\nhelloworld");
  EXPECT_EQ(r->header("connection"), "close");
}

INSTANTIATE_TEST_SUITE_P(Threads, SeedApiTest, ::testing::Values(1, 2),
                         [](const ::testing::TestParamInfo<int>& p) { return "threads" + std::to_string(p.param); });

}  // namespace
}  // namespace corsd::test
