// Per-client rate limits on the real binary: exact at the boundary, shared by two instances
// through a real redis-server, degraded to local counting while Redis is down, shared again
// when it is back.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "e2e/lingxi_process.h"
#include "support/http_client.h"
#include "support/process.h"
#include "support/redis_server.h"

namespace lingxi::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::unique_ptr<LingxiProcess> Start(std::vector<std::string> args, std::vector<std::string> env = {}) {
  std::vector<std::string> argv = {"--model", TestModelFile(), "--threads", "1", "--set", "model.context=256",
                                   "--set", "log.access_log=false"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto p = std::make_unique<LingxiProcess>(argv, env);
  if (!p->WaitReady()) throw std::runtime_error("not ready:\n" + p->process().Log());
  return p;
}

HttpResponse Ask(int port, std::vector<std::pair<std::string, std::string>> headers = {}) {
  headers.push_back({"Content-Type", "application/json"});
  return Fetch(port, "POST", "/v1/embeddings", R"({"input":"hi"})", headers);
}

int CountOk(int port, int n) {
  int ok = 0;
  for (int i = 0; i < n; ++i) ok += Ask(port).status == 200;
  return ok;
}

TEST(RateLimitTest, ExactAtTheBoundaryWithHeadersOn429) {
  auto lx = Start({"--set", "rate_limit.per_ip=5/minute"});
  for (int i = 0; i < 5; ++i) {
    auto r = Ask(lx->port());
    ASSERT_EQ(r.status, 200) << i << r.body;
    EXPECT_EQ(r.Header("x-ratelimit-limit"), "5");
    EXPECT_EQ(r.Header("x-ratelimit-remaining"), std::to_string(4 - i));
  }
  auto limited = Ask(lx->port());
  EXPECT_EQ(limited.status, 429) << limited.body;
  EXPECT_EQ(json::parse(limited.body)["error"]["type"], "rate_limit_error");
  EXPECT_EQ(limited.Header("retry-after"), "12");  // one request's share of the minute
  EXPECT_EQ(limited.Header("x-ratelimit-remaining"), "0");
  EXPECT_EQ(limited.Header("x-ratelimit-reset"), "60");
  // Health, readiness and metrics are never limited.
  EXPECT_EQ(Fetch(lx->port(), "GET", "/health").status, 200);
  auto m = Fetch(lx->port(), "GET", "/metrics").body;
  EXPECT_NE(m.find(R"(lingxi_ratelimit_decisions_total{decision="limited",scope="ip"} 1)"), std::string::npos);
}

TEST(RateLimitTest, TheEnvironmentSetsItAndOffDisablesIt) {
  auto three = Start({}, {"LINGXI_RATE_LIMIT_PER_IP=3/minute"});
  EXPECT_EQ(CountOk(three->port(), 5), 3);
  auto off = Start({}, {"LINGXI_RATE_LIMIT_PER_IP=off"});
  EXPECT_EQ(CountOk(off->port(), 8), 8);
  EXPECT_EQ(Ask(off->port()).Header("x-ratelimit-limit"), "");
}

TEST(RateLimitTest, TrustedProxiesNameTheClient) {
  auto lx = Start({"--set", "rate_limit.per_ip=2/minute", "--set", "rate_limit.trusted_proxies=127.0.0.1"});
  auto as = [&](const std::string& client) {
    return Ask(lx->port(), {{"X-Forwarded-For", "203.0.113.9, " + client}}).status;
  };
  EXPECT_EQ(as("198.51.100.1"), 200);
  EXPECT_EQ(as("198.51.100.1"), 200);
  EXPECT_EQ(as("198.51.100.1"), 429);
  EXPECT_EQ(as("198.51.100.2"), 200);  // another client behind the same proxy
  // Without trusting the proxy, the header is ignored: everyone is 127.0.0.1.
  auto plain = Start({"--set", "rate_limit.per_ip=2/minute"});
  EXPECT_EQ(Ask(plain->port(), {{"X-Forwarded-For", "198.51.100.7"}}).status, 200);
  EXPECT_EQ(Ask(plain->port(), {{"X-Forwarded-For", "198.51.100.8"}}).status, 200);
  EXPECT_EQ(Ask(plain->port(), {{"X-Forwarded-For", "198.51.100.9"}}).status, 429);
}

TEST(RateLimitRedisTest, TwoInstancesShareOneCountAndSurviveRedisGoingAway) {
  RedisServer redis;
  std::vector<std::string> shared = {"--set", "rate_limit.per_ip=6/minute", "--set", "redis.url=" + redis.url()};
  auto a = Start(shared), b = Start(shared);
  int ok = 0;
  for (int i = 0; i < 5; ++i) ok += (Ask(a->port()).status == 200) + (Ask(b->port()).status == 200);
  EXPECT_EQ(ok, 6);  // one count across both

  redis.Stop();
  // Degraded: each instance counts locally, from zero; requests keep succeeding.
  EXPECT_EQ(CountOk(a->port(), 8), 6);
  EXPECT_EQ(CountOk(b->port(), 2), 2);
  EXPECT_NE(Fetch(a->port(), "GET", "/metrics").body.find("lingxi_ratelimit_redis_up 0"), std::string::npos);
  EXPECT_NE(a->process().Log().find("redis is down"), std::string::npos);

  redis.Start();  // empty again (no persistence)
  std::this_thread::sleep_for(1100ms);  // past the client's retry interval
  ok = 0;
  for (int i = 0; i < 5; ++i) ok += (Ask(a->port()).status == 200) + (Ask(b->port()).status == 200);
  EXPECT_EQ(ok, 6);  // shared again
  EXPECT_NE(Fetch(b->port(), "GET", "/metrics").body.find("lingxi_ratelimit_redis_up 1"), std::string::npos);
}

std::string HashKey(const std::string& key) {
  Process p({LINGXI_BINARY, "hash-key", key});
  EXPECT_EQ(p.Wait(10s), 0);
  std::string out = p.Log();
  return out.substr(0, out.find('\n'));
}

TEST(ApiKeyTest, KeysAreRequiredLimitedAndScopedToTheirModels) {
  TempDir dir;
  std::string alice = HashKey("sk-alice-secret"), bob = HashKey("sk-bob-secret");
  ASSERT_EQ(alice.rfind("sha256:", 0), 0u) << alice;
  WriteFile(dir.path() + "/lingxi.toml", "[rate_limit]\nper_ip = \"off\"\n\n"
                                         "[[auth.keys]]\nname = \"alice\"\nsha256 = \"" + alice + "\"\nrate_limit = \"3/minute\"\n\n"
                                         "[[auth.keys]]\nname = \"bob\"\nsha256 = \"" + bob + "\"\nmodels = [\"some-other-model\"]\n");
  auto lx = Start({"--config", dir.path() + "/lingxi.toml"});
  auto none = Ask(lx->port());
  EXPECT_EQ(none.status, 401) << none.body;
  EXPECT_EQ(none.Header("www-authenticate"), "Bearer");
  EXPECT_EQ(json::parse(none.body)["error"]["type"], "authentication_error");
  EXPECT_EQ(Ask(lx->port(), {{"Authorization", "Bearer sk-wrong"}}).status, 401);

  for (int i = 0; i < 3; ++i) {
    auto ok = Ask(lx->port(), {{"Authorization", "Bearer sk-alice-secret"}});
    ASSERT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(ok.Header("x-ratelimit-limit"), "3");
  }
  auto limited = Ask(lx->port(), {{"Authorization", "Bearer sk-alice-secret"}});
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.Header("retry-after"), "20");

  auto denied = Ask(lx->port(), {{"Authorization", "Bearer sk-bob-secret"}});
  EXPECT_EQ(denied.status, 403) << denied.body;
  EXPECT_NE(denied.body.find("may not use the model"), std::string::npos);
  auto chat = Fetch(lx->port(), "POST", "/v1/chat/completions",
                    R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":2})",
                    {{"Content-Type", "application/json"}, {"Authorization", "Bearer sk-bob-secret"}});
  EXPECT_EQ(chat.status, 403) << chat.body;
  // Open routes stay open; the keys themselves appear nowhere.
  EXPECT_EQ(Fetch(lx->port(), "GET", "/health").status, 200);
  EXPECT_EQ(lx->process().Log().find("sk-alice-secret"), std::string::npos);
}

}  // namespace
}  // namespace lingxi::testing
