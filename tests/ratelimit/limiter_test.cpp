// GCRA exactness, and the Redis store against a real redis-server: shared counts, Redis killed
// (local counting), Redis back (shared again).
#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include <future>
#include <thread>

#include "ratelimit/limiter.h"
#include "support/redis_server.h"

namespace lingxi::testing {
namespace {

using namespace ratelimit;
using namespace std::chrono_literals;
namespace net = boost::asio;

Limit L(const char* text) { return *Limit::Parse(text); }

TEST(LimitTest, ParsesRatesAndOff) {
  EXPECT_EQ(L("100/minute").count, 100);
  EXPECT_EQ(L("100/minute").period, 60s);
  EXPECT_EQ(L("10/s").period, 1s);
  EXPECT_EQ(L("5000/hour").ToString(), "5000/hour");
  EXPECT_FALSE(L("off").enabled());
  EXPECT_FALSE(L("0").enabled());
  EXPECT_FALSE(Limit::Parse("100").ok());
  EXPECT_FALSE(Limit::Parse("100/fortnight").ok());
  EXPECT_FALSE(Limit::Parse("-1/minute").ok());
}

TEST(GcraTest, ExactlyTheLimitPassesAtOnceThenOnePerInterval) {
  Limit limit = L("100/minute");
  int64_t tat = 0, now = 1'000'000'000;
  for (int i = 0; i < 100; ++i) {
    auto d = Gcra(tat, now, limit);
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.remaining, 99 - i);
  }
  auto denied = Gcra(tat, now, limit);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.remaining, 0);
  EXPECT_EQ(denied.retry_after, 600ms);  // one emission interval: 60 s / 100
  EXPECT_EQ(denied.reset, 60s);
  EXPECT_FALSE(Gcra(tat, now + 599'999, limit).allowed);
  EXPECT_TRUE(Gcra(tat, now + 600'000, limit).allowed);
  EXPECT_FALSE(Gcra(tat, now + 600'000, limit).allowed);
  // After a whole period of silence the full allowance is back.
  int64_t later = now + 600'000 + 60'000'000;
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(Gcra(tat, later, limit).allowed);
  EXPECT_FALSE(Gcra(tat, later, limit).allowed);
}

class LimiterTest : public ::testing::Test {
 protected:
  LimiterTest() : guard_(net::make_work_guard(io_)) { thread_ = std::thread([this] { io_.run(); }); }
  ~LimiterTest() override {
    std::promise<void> closed;
    net::post(io_, [&] {
      if (redis_) redis_->Close();
      closed.set_value();
    });
    closed.get_future().wait();
    guard_.reset();
    thread_.join();
  }
  void UseRedis(const std::string& url) {
    auto o = *redis::ParseUrl(url);
    o.retry_interval = 100ms;
    redis_ = std::make_unique<redis::Client>(o);
  }
  Result<Decision> Check(RateLimiter& l, const std::string& key, const Limit& limit) {
    std::promise<Result<Decision>> p;
    net::co_spawn(io_, [&]() -> http::Task<void> { p.set_value(co_await l.Check("ip", key, limit)); }, net::detached);
    return p.get_future().get();
  }
  int Allowed(RateLimiter& l, const std::string& key, const Limit& limit, int tries) {
    int n = 0;
    for (int i = 0; i < tries; ++i) {
      auto d = Check(l, key, limit);
      EXPECT_TRUE(d.ok()) << d.status().ToString();
      if (d.ok() && d->allowed) ++n;
    }
    return n;
  }

  metrics::Metrics metrics_;
  net::io_context io_;
  net::executor_work_guard<net::io_context::executor_type> guard_;
  std::thread thread_;
  std::unique_ptr<redis::Client> redis_;
};

TEST_F(LimiterTest, LocalCountingIsExactPerKey) {
  RateLimiter l({}, metrics_);
  EXPECT_EQ(Allowed(l, "ip:a", L("5/minute"), 8), 5);
  EXPECT_EQ(Allowed(l, "ip:b", L("5/minute"), 8), 5);  // keys are independent
  EXPECT_EQ(Allowed(l, "ip:c", L("off"), 50), 50);
}

TEST_F(LimiterTest, TwoLimitersShareOneRedisCount) {
  RedisServer redis;
  UseRedis(redis.url());
  RateLimiter a({redis_.get(), true, "t:"}, metrics_), b({redis_.get(), true, "t:"}, metrics_);
  int passed = 0;
  for (int i = 0; i < 6; ++i) {
    passed += Allowed(a, "ip:x", L("7/minute"), 1);
    passed += Allowed(b, "ip:x", L("7/minute"), 1);
  }
  EXPECT_EQ(passed, 7);
  auto denied = Check(a, "ip:x", L("7/minute"));
  ASSERT_TRUE(denied.ok());
  EXPECT_FALSE(denied->allowed);
  EXPECT_GT(denied->retry_after, 8000ms);  // 60 s / 7 ≈ 8.57 s
  EXPECT_LE(denied->retry_after, 8572ms);
  EXPECT_EQ(denied->limit, 7);
}

TEST_F(LimiterTest, RedisDownCountsLocallyAndRecovers) {
  RedisServer redis;
  UseRedis(redis.url());
  RateLimiter l({redis_.get(), true, "t:"}, metrics_);
  EXPECT_EQ(Allowed(l, "ip:y", L("3/minute"), 5), 3);
  redis.Stop();
  // Degraded: requests keep being answered, counted locally from zero.
  EXPECT_EQ(Allowed(l, "ip:z", L("3/minute"), 5), 3);
  EXPECT_NE(metrics_.Serialize().find("lingxi_ratelimit_redis_up 0"), std::string::npos);
  redis.Start();  // empty again: no persistence
  std::this_thread::sleep_for(150ms);  // past the client's retry interval
  EXPECT_EQ(Allowed(l, "ip:w", L("3/minute"), 5), 3);
  EXPECT_NE(metrics_.Serialize().find("lingxi_ratelimit_redis_up 1"), std::string::npos);
  // Shared again: a second limiter sees the same count.
  RateLimiter other({redis_.get(), true, "t:"}, metrics_);
  EXPECT_EQ(Allowed(other, "ip:w", L("3/minute"), 2), 0);
}

TEST_F(LimiterTest, FailClosedRefusesWhileRedisIsDown) {
  UseRedis("redis://127.0.0.1:" + std::to_string(FreePort()));
  RateLimiter l({redis_.get(), false, "t:"}, metrics_);
  auto d = Check(l, "ip:q", L("3/minute"));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Status::Code::kUnavailable);
}

}  // namespace
}  // namespace lingxi::testing
