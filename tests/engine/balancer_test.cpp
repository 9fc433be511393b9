// Replica choice: least outstanding, affinity, circuit breaking, health.
#include <gtest/gtest.h>

#include <set>

#include "engine/upstream/balancer.h"

namespace lingxi::testing {
namespace {

using namespace engine::upstream;
using namespace std::chrono_literals;
using Outcome = Balancer::Outcome;

Balancer Three(BalancerOptions o = {}) { return Balancer({"a", "b", "c"}, o); }

TEST(BalancerTest, LeastOutstandingSpreadsLoad) {
  auto b = Three();
  auto now = Clock::now();
  std::set<int> used;
  for (int i = 0; i < 3; ++i) used.insert(b.Acquire(0, {}, now));
  EXPECT_EQ(used.size(), 3u);  // one each before any gets a second
  b.Release(1, Outcome::kSuccess, now);
  EXPECT_EQ(b.Acquire(0, {}, now), 1);  // the only one with nothing outstanding
}

TEST(BalancerTest, AffinityKeepsAConversationOnOneReplica) {
  auto b = Three();
  auto now = Clock::now();
  std::set<int> keys_to;
  for (uint64_t key = 1; key <= 64; ++key) {
    int first = b.Acquire(key, {}, now);
    b.Release(first, Outcome::kSuccess, now);
    for (int i = 0; i < 5; ++i) {
      int again = b.Acquire(key, {}, now);
      EXPECT_EQ(again, first);
      b.Release(again, Outcome::kSuccess, now);
    }
    keys_to.insert(first);
  }
  EXPECT_EQ(keys_to.size(), 3u);  // different conversations still use every replica
}

TEST(BalancerTest, AffinityGivesWayToAnOverloadedReplica) {
  auto b = Three(BalancerOptions{3, 5000ms, 2});
  auto now = Clock::now();
  const uint64_t key = 42;
  int home = b.Acquire(key, {}, now);
  b.Acquire(key, {}, now);
  b.Acquire(key, {}, now);  // home now has 3, the others 0: over the slack of 2
  int next = b.Acquire(key, {}, now);
  EXPECT_NE(next, home);
}

TEST(BalancerTest, ConsecutiveFailuresOpenTheCircuitThenOneProbeClosesIt) {
  Balancer b({"only"}, BalancerOptions{3, 1000ms, 8});
  auto now = Clock::now();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(b.Acquire(0, {}, now), 0);
    b.Release(0, Outcome::kFailure, now);
  }
  EXPECT_EQ(b.State(0).circuit, Circuit::kOpen);
  EXPECT_EQ(b.Acquire(0, {}, now + 500ms), -1);
  EXPECT_FALSE(b.AnyAvailable(now + 500ms));
  // After open_duration: exactly one probe goes through.
  EXPECT_EQ(b.Acquire(0, {}, now + 1001ms), 0);
  EXPECT_EQ(b.State(0).circuit, Circuit::kHalfOpen);
  EXPECT_EQ(b.Acquire(0, {}, now + 1002ms), -1);
  EXPECT_TRUE(b.Release(0, Outcome::kSuccess, now + 1003ms));
  EXPECT_EQ(b.State(0).circuit, Circuit::kClosed);
  EXPECT_EQ(b.Acquire(0, {}, now + 1004ms), 0);
}

TEST(BalancerTest, AFailedProbeOpensTheCircuitAgain) {
  Balancer b({"only"}, BalancerOptions{1, 1000ms, 8});
  auto now = Clock::now();
  b.Acquire(0, {}, now);
  b.Release(0, Outcome::kFailure, now);
  ASSERT_EQ(b.Acquire(0, {}, now + 1001ms), 0);
  b.Release(0, Outcome::kFailure, now + 1002ms);
  EXPECT_EQ(b.State(0).circuit, Circuit::kOpen);
  EXPECT_EQ(b.Acquire(0, {}, now + 1500ms), -1);
}

TEST(BalancerTest, SuccessesResetTheFailureCountAndClientErrorsDoNotCount) {
  Balancer b({"only"}, BalancerOptions{2, 1000ms, 8});
  auto now = Clock::now();
  for (auto o : {Outcome::kFailure, Outcome::kSuccess, Outcome::kFailure, Outcome::kNeutral, Outcome::kNeutral}) {
    b.Acquire(0, {}, now);
    b.Release(0, o, now);
  }
  EXPECT_EQ(b.State(0).circuit, Circuit::kClosed);
}

TEST(BalancerTest, TriedAndUnhealthyReplicasAreAvoided) {
  auto b = Three();
  auto now = Clock::now();
  b.SetHealthy(0, false);
  const std::vector<int> one{1}, both{1, 2};
  for (int i = 0; i < 10; ++i) {
    int r = b.Acquire(0, one, now);
    EXPECT_EQ(r, 2);  // 0 unhealthy, 1 already tried
    b.Release(r, Outcome::kSuccess, now);
  }
  // When every healthy replica was tried, a tried one is better than none.
  int r = b.Acquire(0, both, now);
  EXPECT_TRUE(r == 1 || r == 2);
  b.SetHealthy(1, false);
  b.SetHealthy(2, false);
  EXPECT_EQ(b.Acquire(0, {}, now), -1);
}

}  // namespace
}  // namespace lingxi::testing
