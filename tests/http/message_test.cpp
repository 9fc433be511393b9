// Headers: one buffer for every name and value; what handlers and the wire code rely on.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "http/message.h"

namespace lingxi::testing {
namespace {

using lingxi::http::Headers;

std::vector<std::pair<std::string, std::string>> All(const Headers& h) {
  std::vector<std::pair<std::string, std::string>> out;
  h.ForEach([&](std::string_view k, std::string_view v) { out.emplace_back(k, v); });
  return out;
}

TEST(HeadersTest, KeepsOrderAndFindsNamesInAnyCase) {
  Headers h;
  h.Add("Content-Type", "application/json");
  h.Add("Set-Cookie", "a=1");
  h.Add("set-cookie", "b=2");
  EXPECT_EQ(h.Get("content-type"), "application/json");
  EXPECT_EQ(h.Get("SET-COOKIE"), "a=1");  // the first of several
  EXPECT_TRUE(h.Has("Set-Cookie"));
  EXPECT_FALSE(h.Has("Accept"));
  EXPECT_EQ(h.Get("Accept"), "");
  EXPECT_EQ(All(h), (std::vector<std::pair<std::string, std::string>>{
                        {"Content-Type", "application/json"}, {"Set-Cookie", "a=1"}, {"set-cookie", "b=2"}}));
}

TEST(HeadersTest, SetReplacesEveryValueOfTheName) {
  Headers h;
  h.Add("X-A", "1");
  h.Add("x-a", "2");
  h.Add("X-B", "3");
  h.Set("X-A", "4");
  EXPECT_EQ(All(h), (std::vector<std::pair<std::string, std::string>>{{"X-B", "3"}, {"X-A", "4"}}));
}

TEST(HeadersTest, ManyAndLongValuesSurviveTheBufferGrowing) {
  Headers h;
  for (int i = 0; i < 40; ++i) h.Add("X-" + std::to_string(i), std::string(100 + i, static_cast<char>('a' + i % 26)));
  ASSERT_EQ(h.size(), 40u);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(h.Get("x-" + std::to_string(i)), std::string(100 + i, static_cast<char>('a' + i % 26)));
}

TEST(HeadersTest, AValueTakenFromTheSameHeadersIsCopiedSafely) {
  Headers h;
  h.Add("X-Long", std::string(300, 'z'));  // fills the first buffer, so the next Add must grow it
  h.Add("X-Copy", h.Get("X-Long"));
  h.Set("X-Long", h.Get("X-Copy"));
  EXPECT_EQ(h.Get("X-Copy"), std::string(300, 'z'));
  EXPECT_EQ(h.Get("X-Long"), std::string(300, 'z'));
}

TEST(HeadersTest, CopiesAndMovesKeepTheirValues) {
  Headers a;
  a.Add("Host", "example.com");
  Headers b = a;
  Headers c = std::move(a);
  b.Set("Host", "other");
  EXPECT_EQ(c.Get("Host"), "example.com");
  EXPECT_EQ(b.Get("Host"), "other");
}

}  // namespace
}  // namespace lingxi::testing
