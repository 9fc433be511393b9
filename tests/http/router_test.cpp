// Router: literal paths, {param} segments, HEAD for GET, and the allowed list behind a 405.
#include <gtest/gtest.h>

#include "http/router.h"

namespace lingxi::http {
namespace {

Handler Noop() {
  return [](Request&) -> Task<Response> { co_return Response::Text(200, ""); };
}

TEST(RouterTest, MatchesLiteralPathsAndMethods) {
  Router r;
  r.Add("GET", "/health", Noop());
  r.Add("POST", "/v1/chat/completions", Noop());
  auto m = r.Find("GET", "/health");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.route, "/health");
  EXPECT_NE(r.Find("POST", "/v1/chat/completions").handler, nullptr);
  EXPECT_EQ(r.Find("GET", "/v1/chat").handler, nullptr);
}

TEST(RouterTest, CapturesParams) {
  Router r;
  r.Add("GET", "/v1/models/{id}", Noop());
  auto m = r.Find("GET", "/v1/models/qwen2.5");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.route, "/v1/models/{id}");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].first, "id");
  EXPECT_EQ(m.params[0].second, "qwen2.5");
  EXPECT_EQ(r.Find("GET", "/v1/models").handler, nullptr);
}

TEST(RouterTest, WrongMethodListsTheAllowedOnes) {
  Router r;
  r.Add("GET", "/ready", Noop());
  r.Add("POST", "/ready", Noop());
  r.Add("DELETE", "/other", Noop());
  auto m = r.Find("PUT", "/ready");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.route, "/ready");
  EXPECT_EQ(m.allowed, (std::vector<std::string>{"GET", "POST"}));
}

TEST(RouterTest, UnknownPathHasNoAllowedList) {
  Router r;
  r.Add("GET", "/health", Noop());
  auto m = r.Find("GET", "/nothing");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_TRUE(m.allowed.empty());
  EXPECT_EQ(r.Find("GET", "/health/").handler, nullptr);
}

TEST(RouterTest, HeadIsServedByGet) {
  Router r;
  r.Add("GET", "/metrics", Noop());
  EXPECT_NE(r.Find("HEAD", "/metrics").handler, nullptr);
}

}  // namespace
}  // namespace lingxi::http
