// StopMatcher: stop strings across token boundaries and UTF-8 split inside a character.
#include <gtest/gtest.h>

#include "engine/llama/stop_matcher.h"

namespace lingxi::engine::llama {
namespace {

TEST(StopMatcherTest, PassesTextThroughWithoutStops) {
  StopMatcher m;
  EXPECT_EQ(m.Push("hello ").text, "hello ");
  EXPECT_EQ(m.Push("world").text, "world");
  EXPECT_EQ(m.Flush(), "");
}

TEST(StopMatcherTest, StopSplitAcrossPiecesIsNeverSent) {
  StopMatcher m({"END"});
  EXPECT_EQ(m.Push("abc E").text, "abc ");  // "E" might start END
  EXPECT_EQ(m.Push("N").text, "");
  auto out = m.Push("D and more");
  EXPECT_TRUE(out.stopped);
  EXPECT_EQ(out.text, "");
}

TEST(StopMatcherTest, FalseStartIsReleased) {
  StopMatcher m({"END"});
  EXPECT_EQ(m.Push("xE").text, "x");
  EXPECT_EQ(m.Push("Nx").text, "ENx");
}

TEST(StopMatcherTest, EarliestOfSeveralStopsWins) {
  StopMatcher m({"world", "lo w"});
  auto out = m.Push("hello world");
  EXPECT_TRUE(out.stopped);
  EXPECT_EQ(out.text, "hel");
}

TEST(StopMatcherTest, IncompleteUtf8IsHeldUntilComplete) {
  StopMatcher m;
  std::string ni = "\xe4\xbd\xa0";  // 你
  EXPECT_EQ(m.Push(ni.substr(0, 2)).text, "");
  EXPECT_EQ(m.Push(ni.substr(2) + "!").text, ni + "!");
  EXPECT_EQ(m.Push("\xe5").text, "");
  EXPECT_EQ(m.Flush(), "");  // a dangling lead byte is dropped at the end
}

}  // namespace
}  // namespace lingxi::engine::llama
