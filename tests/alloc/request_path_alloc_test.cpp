// The request path allocates nothing: the policy's decisions, and the whole
// in-memory path of a request (CORS filter, echo API, response serialized
// into a warmed-up buffer). Counted with a replaced operator new.

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <vector>

#include "corsd/app/echo_api.hpp"
#include "corsd/app/gateway.hpp"
#include "corsd/cors/policy.hpp"
#include "corsd/cors/route_table.hpp"
#include "corsd/testing/test_worker.hpp"
#include "counting_new.hpp"

namespace corsd::test {
namespace {

// Allocations made by `f` on this thread.
template <typename F>
std::size_t allocations_in(F&& f) {
  const std::size_t before = allocations_on_this_thread();
  f();
  return allocations_on_this_thread() - before;
}

cors::Policy credentialed_policy() {
  cors::PolicySpec s;
  for (int i = 0; i < 1000; ++i) s.allow_origins.push_back("https://site" + std::to_string(i) + ".example");
  s.allow_origins.push_back("https://*.preview.example.com");
  s.allow_credentials = true;
  s.allow_methods = {"PUT", "DELETE"};
  s.allow_headers = {"content-type", "authorization"};
  s.expose_headers = {"x-request-id"};
  s.max_age_seconds = 600;
  return std::get<cors::Policy>(cors::Policy::create(s));
}

TEST(AllocationTest, CountingWorks) {
  EXPECT_EQ(allocations_in([] {
              int* volatile p = new int(1);
              delete p;
            }),
            1u);
  std::string grown;
  EXPECT_GE(allocations_in([&] { grown.assign(1000, 'x'); }), 1u);
}

TEST(AllocationTest, EveryKindOfDecisionAllocatesNothing) {
  const cors::Policy seed = cors::Policy::seed();
  const cors::Policy listed = credentialed_policy();
  const std::string acrh_storage = std::string(4096, ',') + "authorization, content-type";
  const std::string_view acrh[] = {acrh_storage};
  struct Case {
    const cors::Policy* policy;
    cors::CorsRequest request;
  };
  std::vector<Case> cases;
  auto add = [&](const cors::Policy& p, std::string_view method, std::string_view origin, std::string_view acrm,
                 std::span<const std::string_view> headers) {
    cors::CorsRequest r;
    r.method = method;
    if (!origin.empty()) r.origin = {origin, 1};
    if (!acrm.empty()) r.request_method = {acrm, 1};
    r.request_headers = headers;
    cases.push_back({&p, r});
  };
  add(seed, "GET", "", "", {});
  add(seed, "PUT", "http://localhost:8081", "", {});
  add(seed, "OPTIONS", "http://localhost:8081", "PUT", acrh);
  add(seed, "OPTIONS", "null", "PUT", {});
  add(listed, "PUT", "https://site999.example", "", {});
  add(listed, "PUT", "https://pr-1.preview.example.com", "", {});
  add(listed, "PUT", "https://evil.example", "", {});
  add(listed, "OPTIONS", "https://site0.example", "PUT", acrh);
  add(listed, "OPTIONS", "https://site0.example", "PATCH", {});
  add(listed, "OPTIONS", "https://evil.example", "PUT", acrh);
  for (const Case& c : cases) {
    volatile int kind = 0;
    EXPECT_EQ(allocations_in([&] { kind = static_cast<int>(c.policy->decide(c.request).kind); }), 0u)
        << c.request.method << " " << c.request.origin.value;
  }
}

TEST(AllocationTest, GatewayEchoAndSerializationAllocateNothingOnceWarm) {
  testing::TestWorker worker;
  app::Gateway gateway(worker, std::make_shared<const app::Site>());
  http::ResponseHead head;
  const std::vector<http::Field> preflight_fields = {{"Host", "localhost:8080"},
                                                     {"Origin", "http://localhost:8081"},
                                                     {"Access-Control-Request-Method", "PUT"},
                                                     {"Access-Control-Request-Headers", "content-type"}};
  const std::vector<http::Field> put_fields = {
      {"Host", "localhost:8080"}, {"Origin", "http://localhost:8081"}, {"Content-Type", "application/json"}};
  const std::string body(1024, 'j');
  std::string out;
  out.reserve(64 * 1024);
  auto serve = [&](std::string_view method, const std::vector<http::Field>& fields, std::string_view b) {
    http::Request request;
    request.method = method;
    request.target = "/some/url/resource/path";
    request.path = request.target;
    request.fields = fields;
    request.body = b;
    head.clear();
    http::Response response(out, head, http::ResponseContext{"Wed, 25 Nov 2026 13:00:00 GMT", false, true, 11});
    gateway.handle(request, response);
  };
  serve("OPTIONS", preflight_fields, {});  // the head's storage grows to its working size
  serve("PUT", put_fields, body);
  const std::size_t n = allocations_in([&] {
    for (int i = 0; i < 20; ++i) {
      serve("OPTIONS", preflight_fields, {});
      serve("PUT", put_fields, body);
    }
  });
  EXPECT_EQ(n, 0u);
  EXPECT_NE(out.find("HTTP/1.1 204 No Content"), std::string::npos);
  EXPECT_NE(out.find("Method: PUT"), std::string::npos);
}

TEST(AllocationTest, AlignedAllocationsAreCountedToo) {
  const std::size_t before = allocations_on_this_thread();
  void* p = std::aligned_alloc(64, 256);
  asm volatile("" : : "r"(p) : "memory");  // used: the compiler may not elide the pair
  void* q = nullptr;
  ASSERT_EQ(::posix_memalign(&q, 64, 256), 0);
  EXPECT_EQ(allocations_on_this_thread() - before, 2u);
  std::free(p);
  std::free(q);
}

}  // namespace
}  // namespace corsd::test
