#include "corsd/http/target.hpp"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace corsd::http {
namespace {

Target normalized(std::string_view target, std::string& scratch) { return normalize_target(target, scratch); }

TEST(TargetTest, DotSegmentsAreRemovedAsRfc3986Says) {
  for (const auto& [target, path] :
       std::vector<std::pair<std::string_view, std::string_view>>{{"/a/./b", "/a/b"},
                                                                  {"/a/b/../c", "/a/c"},
                                                                  {"/a/b/..", "/a/"},
                                                                  {"/a/b/.", "/a/b/"},
                                                                  {"/a/..", "/"},
                                                                  {"/.well-known/x", "/.well-known/x"},
                                                                  {"/a..b/c.", "/a..b/c."},
                                                                  {"/a//b", "/a//b"},
                                                                  {"/public/../private", "/private"}}) {
    std::string scratch;
    const Target t = normalized(target, scratch);
    EXPECT_EQ(t.error, TargetError::none) << target;
    EXPECT_EQ(t.path, path) << target;
  }
}

TEST(TargetTest, AFragmentIsNeverPartOfATarget) {
  // RFC 9112 §3.2: "/admin#x" would miss an "/admin" route, and the upstream
  // that drops the fragment would serve /admin.
  for (std::string_view target : {"/admin#x", "/a?q#f", "http://h/x#y", "/#"}) {
    std::string scratch;
    EXPECT_EQ(normalized(target, scratch).error, TargetError::bad_form) << target;
  }
}

TEST(TargetTest, TheAbsoluteFormKeepsItsAuthorityForTheHost) {
  std::string scratch;
  const Target t = normalized("http://other.test:8080/x?q", scratch);
  EXPECT_EQ(t.error, TargetError::none);
  EXPECT_EQ(t.authority, "other.test:8080");
  EXPECT_EQ(t.path, "/x");
  EXPECT_EQ(normalized("/x", scratch).authority, "");
  for (std::string_view target : {"http:///x", "http://a b/x", "http://user@evil/x"}) {
    EXPECT_EQ(normalized(target, scratch).error, TargetError::bad_form) << target;
  }
}

TEST(TargetTest, EncodedDotsCannotSmuggleAPathPastItsRoute) {
  std::string scratch;
  EXPECT_EQ(normalized("/public/%2e%2e/private", scratch).path, "/private");
  EXPECT_EQ(normalized("/public/%2E./private?x=1", scratch).path, "/private");
  EXPECT_EQ(normalized("/public/%2E./private?x=1", scratch).query, "?x=1");
}

TEST(TargetTest, UnreservedCharactersAreDecodedOthersUppercased) {
  std::string scratch;
  EXPECT_EQ(normalized("/%41b%7e%2D", scratch).path, "/Ab~-");
  EXPECT_EQ(normalized("/a%3fb%23", scratch).path, "/a%3Fb%23");  // "?" and "#" stay encoded: they are data
  EXPECT_EQ(normalized("/a%20b", scratch).path, "/a%20b");
}

TEST(TargetTest, ClimbingAboveTheRootIsAnError) {
  for (std::string_view target : {"/..", "/../x", "/a/../../x", "/%2e%2e/x", "/a/%2E%2E/%2e%2e"}) {
    std::string scratch;
    EXPECT_EQ(normalized(target, scratch).error, TargetError::climbs_above_root) << target;
  }
}

TEST(TargetTest, MalformedPercentEncodingIsAnError) {
  for (std::string_view target : {"/a%", "/a%2", "/a%zz", "/%g0"}) {
    std::string scratch;
    EXPECT_EQ(normalized(target, scratch).error, TargetError::bad_percent_encoding) << target;
  }
}

TEST(TargetTest, PathsUpstreamsCouldResolveDifferentlyAreErrors) {
  for (std::string_view target : {"/public/..\\private", "/public\\x", "/public/%2e%2e%2Fprivate", "/a%2fb", "/a%5Cb",
                                  "/public/..;/private", "/public/.;x/y", "/a/..;jsessionid=1"}) {
    std::string scratch;
    EXPECT_EQ(normalized(target, scratch).error, TargetError::ambiguous_path) << target;
  }
  std::string scratch;
  EXPECT_EQ(normalized("/a;v=1/b..;c", scratch).error, TargetError::none);  // parameters elsewhere are data
  EXPECT_EQ(normalized("/...;x/y", scratch).error, TargetError::none);
}

TEST(TargetTest, PlainPathsAreUsedAsTheyAre) {
  std::string scratch;
  const std::string_view target = "/some/url/resource/path?q=1";
  const Target t = normalized(target, scratch);
  EXPECT_EQ(t.path.data(), target.data());  // a view into the target, no copy
  EXPECT_TRUE(scratch.empty());
}

}  // namespace
}  // namespace corsd::http
