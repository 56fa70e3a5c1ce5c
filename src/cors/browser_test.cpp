#include "corsd/cors/detail/browser.hpp"

#include <gtest/gtest.h>

namespace corsd::cors::browser {
namespace {

constexpr std::string_view kPage = "https://app.example";
constexpr std::string_view kApi = "https://api.example/items/1";

Request request(std::string method, std::vector<Header> headers = {}, bool credentials = false) {
  return Request{std::string(kApi), std::string(kPage), std::move(method), std::move(headers), credentials, {}};
}

Response answer(unsigned status, std::vector<Header> headers) { return Response{status, std::move(headers), false}; }

TEST(BrowserMethodTest, OnlyTheSixStandardMethodsAreNormalized) {
  EXPECT_EQ(normalize_method("put"), "PUT");
  EXPECT_EQ(normalize_method("Delete"), "DELETE");
  EXPECT_EQ(normalize_method("patch"), "patch");  // not one of the six: stays as written
  EXPECT_TRUE(is_safelisted_method("POST"));
  EXPECT_FALSE(is_safelisted_method("post"));
}

TEST(BrowserPreflightNeedTest, SafelistedHeadersFollowTheirValueRules) {
  EXPECT_FALSE(needs_preflight(request("GET")));
  EXPECT_FALSE(needs_preflight(request("post", {{"Content-Type", "text/plain;charset=UTF-8"}})));
  EXPECT_FALSE(needs_preflight(request("POST", {{"content-type", "multipart/form-data; boundary=x"}})));
  EXPECT_TRUE(needs_preflight(request("POST", {{"content-type", "application/json"}})));
  EXPECT_TRUE(needs_preflight(request("POST", {{"content-type", "text/plain; a=\"b\""}})));  // '"' is unsafe
  EXPECT_TRUE(needs_preflight(request("GET", {{"accept-language", "en(US)"}})));
  EXPECT_FALSE(needs_preflight(request("GET", {{"range", "bytes=0-99"}})));
  EXPECT_TRUE(needs_preflight(request("GET", {{"range", "bytes=0-9,20-29"}})));
  EXPECT_TRUE(needs_preflight(request("GET", {{"range", "bytes=9-0"}})));
  EXPECT_TRUE(needs_preflight(request("GET", {{"accept", std::string(129, 'a')}})));  // over 128 bytes
  EXPECT_FALSE(needs_preflight(request("GET", {{"cookie", "a=b"}})));                 // forbidden: never sent
  EXPECT_TRUE(needs_preflight(request("PUT")));
}

TEST(BrowserPreflightNeedTest, SafelistedValuesOver1024BytesInAllNeedAPreflight) {
  std::vector<Header> headers;
  for (int i = 0; i < 9; ++i) headers.push_back({"accept", std::string(120, 'a')});
  EXPECT_EQ(unsafe_header_names(headers), std::vector<std::string>{"accept"});
}

TEST(BrowserPreflightTest, AccessControlRequestHeadersIsLowercaseSortedUnique) {
  const auto headers = preflight_headers(
      request("put", {{"X-B", "1"}, {"x-a", "2"}, {"X-b", "3"}, {"Content-Type", "application/json"}}));
  ASSERT_EQ(headers.size(), 5u);
  EXPECT_EQ(headers[1].value, "PUT");
  EXPECT_EQ(headers[2].name, "Access-Control-Request-Headers");
  EXPECT_EQ(headers[2].value, "content-type,x-a,x-b");
  EXPECT_EQ(headers[3].value, kPage);
}

TEST(BrowserCorsCheckTest, EachFailureHasItsName) {
  const Request plain = request("GET");
  const Request with_credentials = request("GET", {}, true);
  const auto blocked = [](const Request& r, std::vector<Header> h) {
    return check_actual(Browser::chromium, r, answer(200, h)).blocked;
  };
  EXPECT_EQ(blocked(plain, {}), Blocked::missing_allow_origin_header);
  EXPECT_EQ(blocked(plain, {{"Access-Control-Allow-Origin", "*"}}), Blocked::none);
  EXPECT_EQ(blocked(plain, {{"Access-Control-Allow-Origin", std::string(kPage)}}), Blocked::none);
  EXPECT_EQ(blocked(plain, {{"Access-Control-Allow-Origin", "https://other.example"}}), Blocked::allow_origin_mismatch);
  EXPECT_EQ(blocked(plain, {{"Access-Control-Allow-Origin", "https://app.example/"}}), Blocked::allow_origin_mismatch);
  EXPECT_EQ(blocked(plain, {{"Access-Control-Allow-Origin", "null"}}), Blocked::allow_origin_mismatch);
  EXPECT_EQ(blocked(plain, {{"Access-Control-Allow-Origin", "app.example"}}), Blocked::invalid_allow_origin_value);
  EXPECT_EQ(blocked(plain, {{"Access-Control-Allow-Origin", std::string(kPage)},
                            {"access-control-allow-origin", std::string(kPage)}}),
            Blocked::multiple_allow_origin_values);
  EXPECT_EQ(blocked(with_credentials, {{"Access-Control-Allow-Origin", "*"}}), Blocked::wildcard_origin_not_allowed);
  EXPECT_EQ(blocked(with_credentials, {{"Access-Control-Allow-Origin", std::string(kPage)}}),
            Blocked::invalid_allow_credentials);
  EXPECT_EQ(blocked(with_credentials, {{"Access-Control-Allow-Origin", std::string(kPage)},
                                       {"Access-Control-Allow-Credentials", "TRUE"}}),
            Blocked::invalid_allow_credentials);  // exactly "true"
  EXPECT_EQ(blocked(with_credentials, {{"Access-Control-Allow-Origin", std::string(kPage)},
                                       {"Access-Control-Allow-Credentials", "true"}}),
            Blocked::none);
}

TEST(BrowserPreflightTest, TheAnswerIsCheckedInTheBrowsersOrder) {
  const Request put = request("PUT", {{"x-a", "1"}, {"Authorization", "Bearer t"}});
  const Header origin{"Access-Control-Allow-Origin", std::string(kPage)};
  const auto blocked = [&](const Request& r, unsigned status, std::vector<Header> h) {
    h.insert(h.begin(), origin);
    return check_preflight(Browser::standard, r, answer(status, h));
  };
  Response redirect = answer(307, {origin, {"Location", "https://elsewhere.example/"}});
  redirect.redirect = true;
  EXPECT_EQ(check_preflight(Browser::standard, put, redirect).blocked, Blocked::preflight_disallowed_redirect);
  EXPECT_EQ(check_preflight(Browser::standard, put, answer(204, {})).blocked,
            Blocked::preflight_missing_allow_origin_header);
  EXPECT_EQ(blocked(put, 404, {}).blocked, Blocked::preflight_invalid_status);
  EXPECT_EQ(blocked(put, 204, {{"Access-Control-Allow-Methods", "PUT DELETE"}}).blocked,
            Blocked::invalid_allow_methods_preflight_response);
  EXPECT_EQ(
      blocked(put, 204, {{"Access-Control-Allow-Methods", "PUT"}, {"Access-Control-Allow-Headers", "x-a;"}}).blocked,
      Blocked::invalid_allow_headers_preflight_response);
  const Failure method = blocked(put, 204, {{"Access-Control-Allow-Methods", "GET, DELETE"}});
  EXPECT_EQ(method.blocked, Blocked::method_disallowed_by_preflight_response);
  EXPECT_EQ(method.value, "PUT");
  const Failure header =
      blocked(put, 204, {{"Access-Control-Allow-Methods", "PUT,,"}, {"Access-Control-Allow-Headers", "*"}});
  EXPECT_EQ(header.blocked, Blocked::header_disallowed_by_preflight_response);
  EXPECT_EQ(header.value, "authorization");  // `*` never covers it
  EXPECT_FALSE(
      blocked(put, 204, {{"Access-Control-Allow-Methods", "*"}, {"Access-Control-Allow-Headers", "*, Authorization"}}));
}

TEST(BrowserPreflightTest, WildcardsDoNotCountWithCredentials) {
  const Request put = request("PUT", {{"x-a", "1"}}, true);
  const std::vector<Header> base{{"Access-Control-Allow-Origin", std::string(kPage)},
                                 {"Access-Control-Allow-Credentials", "true"}};
  auto with = [&](std::vector<Header> extra) {
    std::vector<Header> h = base;
    h.insert(h.end(), extra.begin(), extra.end());
    return check_preflight(Browser::standard, put, answer(200, h)).blocked;
  };
  EXPECT_EQ(with({{"Access-Control-Allow-Methods", "*"}}), Blocked::method_disallowed_by_preflight_response);
  EXPECT_EQ(with({{"Access-Control-Allow-Methods", "PUT"}, {"Access-Control-Allow-Headers", "*"}}),
            Blocked::header_disallowed_by_preflight_response);
  EXPECT_EQ(with({{"Access-Control-Allow-Methods", "PUT"}, {"Access-Control-Allow-Headers", "X-A"}}), Blocked::none);
}

TEST(BrowserMessageTest, ChromiumsWords) {
  const Request r = request("PUT");
  EXPECT_EQ(console_message(Browser::chromium, r, {Blocked::preflight_invalid_status, {}}),
            "Access to fetch at 'https://api.example/items/1' from origin 'https://app.example' has been blocked by "
            "CORS policy: Response to preflight request doesn't pass access control check: It does not have HTTP ok "
            "status.");
  EXPECT_EQ(console_message(Browser::chromium, r, {Blocked::header_disallowed_by_preflight_response, "x-a"}),
            "Access to fetch at 'https://api.example/items/1' from origin 'https://app.example' has been blocked by "
            "CORS policy: Request header field x-a is not allowed by Access-Control-Allow-Headers in preflight "
            "response.");
  EXPECT_EQ(console_message(Browser::chromium, r, {}), "");
  EXPECT_EQ(console_message(Browser::firefox, r, {Blocked::preflight_invalid_status, {}, 404}),
            "Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at "
            "https://api.example/items/1. (Reason: CORS preflight response did not succeed). Status code: 404.");
  EXPECT_EQ(fix_for(r, {Blocked::header_disallowed_by_preflight_response, "x-a"}),
            "add `x-a` to Access-Control-Allow-Headers (in corsd: allow_headers)");
}

TEST(BrowserReadableTest, SafelistedAndExposedNamesButNeverSetCookie) {
  const Response r = answer(200, {{"Content-Type", "text/plain"},
                                  {"X-Request-Id", "7"},
                                  {"X-Other", "1"},
                                  {"Set-Cookie", "a=b"},
                                  {"Access-Control-Expose-Headers", "x-request-id, set-cookie"}});
  EXPECT_EQ(readable_headers(request("GET"), r), (std::vector<std::string>{"content-type", "x-request-id"}));
  const Response star = answer(200, {{"X-Other", "1"}, {"Set-Cookie", "a=b"}, {"Access-Control-Expose-Headers", "*"}});
  EXPECT_EQ(readable_headers(request("GET"), star),
            (std::vector<std::string>{"access-control-expose-headers", "x-other"}));
  EXPECT_EQ(readable_headers(request("GET", {}, true), star), std::vector<std::string>{});
}

TEST(BrowserCacheTest, MaxAgeIsCappedPerBrowser) {
  const Response day = answer(204, {{"Access-Control-Max-Age", "86400"}});
  EXPECT_EQ(preflight_cache_time(Browser::chromium, day).count(), 7200);
  EXPECT_EQ(preflight_cache_time(Browser::firefox, day).count(), 86400);
  EXPECT_EQ(preflight_cache_time(Browser::chromium, answer(204, {})).count(), 5);
  // Seen in both browsers: a negative value is not cached; one that is no number is, by Chromium only, for 5 s.
  EXPECT_EQ(preflight_cache_time(Browser::chromium, answer(204, {{"Access-Control-Max-Age", "-1"}})).count(), 0);
  EXPECT_EQ(preflight_cache_time(Browser::chromium, answer(204, {{"Access-Control-Max-Age", "abc"}})).count(), 5);
  EXPECT_EQ(preflight_cache_time(Browser::firefox, answer(204, {{"Access-Control-Max-Age", "abc"}})).count(), 0);
}

}  // namespace
}  // namespace corsd::cors::browser
