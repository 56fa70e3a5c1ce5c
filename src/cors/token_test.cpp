#include "corsd/cors/detail/token.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace corsd::cors {
namespace {

std::vector<std::string> elements(std::vector<std::string_view> lines) {
  ListCursor cursor(lines);
  std::vector<std::string> out;
  std::string_view e;
  while (cursor.next(e)) out.emplace_back(e);
  return out;
}

TEST(TokenTest, TokenIsOneOrMoreTchars) {
  EXPECT_TRUE(is_token("content-type"));
  EXPECT_TRUE(is_token("X-Custom_1.2~!#$%&'*+^`|"));
  EXPECT_FALSE(is_token(""));
  EXPECT_FALSE(is_token("a b"));
  EXPECT_FALSE(is_token("a,b"));
  EXPECT_FALSE(is_token("a:b"));
  EXPECT_FALSE(is_token(std::string_view("a\0b", 3)));
  EXPECT_FALSE(is_token("caf\xc3\xa9"));
}

TEST(TokenTest, HeaderNamesCompareIgnoringAsciiCaseOnly) {
  EXPECT_TRUE(ascii_iequals("Content-Type", "content-type"));
  EXPECT_FALSE(ascii_iequals("content-type", "content-typ"));
  EXPECT_FALSE(ascii_iequals("\xc3\x89", "\xc3\xa9"));  // no Unicode folding
}

TEST(TokenTest, ListElementsAreTrimmedAndEmptyOnesSkipped) {
  EXPECT_EQ(elements({"a,b"}), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(elements({" a ,\tb\t, , ,c"}), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(elements({",,,"}), std::vector<std::string>{});
  EXPECT_EQ(elements({""}), std::vector<std::string>{});
}

TEST(TokenTest, ListSpreadOverSeveralLinesIsOneList) {
  EXPECT_EQ(elements({"x-a, x-b", "", "x-c"}), (std::vector<std::string>{"x-a", "x-b", "x-c"}));
}

TEST(TokenTest, MegabyteOfCommasYieldsNoElement) {
  const std::string commas(1 << 20, ',');
  EXPECT_EQ(elements({commas}), std::vector<std::string>{});
}

}  // namespace
}  // namespace corsd::cors
