// The response cache on the real binary: every tier filled and hit, promotion, TTL, RocksDB
// across a restart, single-flight, what is not cached, stream replay, Redis going away.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <signal.h>

#include <thread>

#include "e2e/lingxi_process.h"
#include "support/http_client.h"
#include "support/process.h"
#include "support/redis_server.h"

namespace lingxi::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::unique_ptr<LingxiProcess> Start(std::vector<std::string> args) {
  std::vector<std::string> argv = {"--model", TestModelFile(), "--threads", "1", "--set", "model.context=512",
                                   "--set", "model.id=tiny", "--set", "log.access_log=false",
                                   "--set", "rate_limit.per_ip=off"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto p = std::make_unique<LingxiProcess>(argv);
  if (!p->WaitReady()) throw std::runtime_error("not ready:\n" + p->process().Log());
  return p;
}

json Chat(const std::string& text, int max_tokens = 8) {
  return {{"model", "tiny"}, {"messages", {{{"role", "user"}, {"content", text}}}}, {"temperature", 0},
          {"max_tokens", max_tokens}};
}

HttpResponse Post(int port, const json& body) {
  return Fetch(port, "POST", "/v1/chat/completions", body.dump(), {{"Content-Type", "application/json"}});
}

std::string Text(const HttpResponse& r) { return json::parse(r.body)["choices"][0]["message"]["content"]; }

double EngineCalls(int port) { return MetricSum(port, "lingxi_engine_requests_total{"); }

TEST(CacheTest, EveryTierFillsHitsAndPromotesAndDiskSurvivesARestart) {
  RedisServer redis;
  TempDir disk_a, disk_b;
  auto with = [&](const TempDir& disk, bool use_redis) {
    std::vector<std::string> a = {"--set", "cache.disk_path=" + disk.path()};
    if (use_redis) a.insert(a.end(), {"--set", "redis.url=" + redis.url()});
    return a;
  };
  auto a = Start(with(disk_a, true));
  auto miss = Post(a->port(), Chat("cache me"));
  ASSERT_EQ(miss.status, 200) << miss.body;
  EXPECT_EQ(miss.Header("x-cache"), "MISS");
  auto l1 = Post(a->port(), Chat("cache me"));
  EXPECT_EQ(l1.Header("x-cache"), "HIT-L1");
  EXPECT_EQ(Text(l1), Text(miss));
  EXPECT_EQ(EngineCalls(a->port()), 1);

  // Another replica sharing the Redis: L2, then promoted into its memory.
  auto b = Start(with(disk_b, true));
  auto l2 = Post(b->port(), Chat("cache me"));
  EXPECT_EQ(l2.Header("x-cache"), "HIT-L2");
  EXPECT_EQ(Text(l2), Text(miss));
  EXPECT_EQ(Post(b->port(), Chat("cache me")).Header("x-cache"), "HIT-L1");
  EXPECT_EQ(EngineCalls(b->port()), 0);

  // The disk keeps it across a restart (with Redis emptied: no persistence there).
  a->process().Signal(SIGTERM);
  ASSERT_EQ(a->process().Wait(20s), 0);
  a.reset();
  redis.Stop();
  redis.Start();
  auto again = Start(with(disk_a, true));
  auto l3 = Post(again->port(), Chat("cache me"));
  EXPECT_EQ(l3.Header("x-cache"), "HIT-L3");
  EXPECT_EQ(Text(l3), Text(miss));
  EXPECT_EQ(Post(again->port(), Chat("cache me")).Header("x-cache"), "HIT-L1");
  EXPECT_EQ(EngineCalls(again->port()), 0);
  EXPECT_GT(MetricSum(again->port(), "lingxi_cache_requests_total{result=\"hit\",tier=\"disk\"}"), 0);
}

TEST(CacheTest, EntriesExpireAtTheirTtl) {
  TempDir disk;
  auto lx = Start({"--set", "cache.ttl=700ms", "--set", "cache.disk_path=" + disk.path()});
  EXPECT_EQ(Post(lx->port(), Chat("short-lived")).Header("x-cache"), "MISS");
  EXPECT_EQ(Post(lx->port(), Chat("short-lived")).Header("x-cache"), "HIT-L1");
  std::this_thread::sleep_for(800ms);
  EXPECT_EQ(Post(lx->port(), Chat("short-lived")).Header("x-cache"), "MISS");  // gone from memory and disk
  EXPECT_EQ(EngineCalls(lx->port()), 2);
}

TEST(CacheTest, IdenticalRequestsInFlightCostOneEngineCall) {
  auto lx = Start({"--set", "cache.tiers=memory"});
  json body = Chat("all at once", 48);
  body["ignore_eos"] = true;
  std::vector<std::thread> clients;
  std::vector<HttpResponse> got(8);
  for (int i = 0; i < 8; ++i) clients.emplace_back([&, i] { got[i] = Post(lx->port(), body); });
  for (auto& t : clients) t.join();
  for (const auto& r : got) {
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(Text(r), Text(got[0]));
  }
  EXPECT_EQ(EngineCalls(lx->port()), 1);
  EXPECT_GE(MetricSum(lx->port(), "lingxi_cache_coalesced_total") + MetricSum(lx->port(), "lingxi_cache_requests_total{result=\"hit\""), 7);
}

TEST(CacheTest, SampledAnswersAndOptOutsAreNotCachedButSeededOnesAre) {
  auto lx = Start({"--set", "cache.tiers=memory"});
  json sampled = Chat("roll the dice");
  sampled["temperature"] = 0.9;
  EXPECT_EQ(Post(lx->port(), sampled).Header("x-cache"), "");
  EXPECT_EQ(Post(lx->port(), sampled).Header("x-cache"), "");
  json seeded = sampled;
  seeded["seed"] = 7;
  EXPECT_EQ(Post(lx->port(), seeded).Header("x-cache"), "MISS");
  EXPECT_EQ(Post(lx->port(), seeded).Header("x-cache"), "HIT-L1");
  json opt_out = Chat("do not keep");
  opt_out["cache"] = false;
  EXPECT_EQ(Post(lx->port(), opt_out).Header("x-cache"), "");
  EXPECT_EQ(Post(lx->port(), Chat("do not keep")).Header("x-cache"), "MISS");  // nothing was stored
  EXPECT_EQ(EngineCalls(lx->port()), 5);
  // Another sampling parameter is another answer.
  json longer = Chat("cache me", 9);
  Post(lx->port(), Chat("cache me", 8));
  EXPECT_EQ(Post(lx->port(), longer).Header("x-cache"), "MISS");
}

TEST(CacheTest, AStreamIsAnsweredFromTheCacheAsAStream) {
  auto lx = Start({"--set", "cache.tiers=memory"});
  auto whole = Post(lx->port(), Chat("stream me later"));
  json body = Chat("stream me later");
  body["stream"] = true;
  body["stream_options"] = {{"include_usage", true}};
  auto s = Post(lx->port(), body);
  ASSERT_EQ(s.status, 200);
  EXPECT_EQ(s.Header("x-cache"), "HIT-L1");
  EXPECT_EQ(s.Header("content-type"), "text/event-stream");
  std::string text;
  std::vector<std::string> events;
  size_t pos = 0;
  while ((pos = s.body.find("data: ", pos)) != std::string::npos) {
    size_t end = s.body.find("\n\n", pos);
    events.push_back(s.body.substr(pos + 6, end - pos - 6));
    pos = end;
  }
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.back(), "[DONE]");
  for (const auto& e : events) {
    if (e == "[DONE]") continue;
    auto j = json::parse(e);
    if (!j["choices"].empty() && j["choices"][0]["delta"].contains("content")) text += j["choices"][0]["delta"]["content"];
    if (j.contains("usage")) {
      EXPECT_EQ(j["usage"]["completion_tokens"], json::parse(whole.body)["usage"]["completion_tokens"]);
    }
  }
  EXPECT_EQ(text, Text(whole));
}

TEST(CacheTest, RedisGoingAwayLeavesTheOtherTiersServing) {
  RedisServer redis;
  auto lx = Start({"--set", "cache.tiers=redis,memory", "--set", "redis.url=" + redis.url()});
  EXPECT_EQ(Post(lx->port(), Chat("before")).Header("x-cache"), "MISS");
  EXPECT_EQ(Post(lx->port(), Chat("before")).Header("x-cache"), "HIT-L1");  // Redis is L1 here
  redis.Stop();
  auto during = Post(lx->port(), Chat("during"));
  EXPECT_EQ(during.status, 200);
  EXPECT_EQ(Post(lx->port(), Chat("during")).Header("x-cache"), "HIT-L2");  // memory still works
  EXPECT_GT(MetricSum(lx->port(), "lingxi_cache_errors_total{tier=\"redis\"}"), 0);
  redis.Start();
  std::this_thread::sleep_for(1100ms);
  EXPECT_EQ(Post(lx->port(), Chat("after")).Header("x-cache"), "MISS");
  EXPECT_EQ(Post(lx->port(), Chat("after")).Header("x-cache"), "HIT-L1");  // back in Redis
}

}  // namespace
}  // namespace lingxi::testing
