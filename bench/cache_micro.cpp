// Google Benchmark: the response cache's memory tier, its key, and the limiter's local
// decision, in process (no HTTP). bench/cache_bench.py measures the same through the server.
//
//   build/bin/cache_micro [--benchmark_min_time=0.5]
#include <benchmark/benchmark.h>

#include <boost/asio.hpp>

#include <fmt/format.h>

#include "cache/cache.h"
#include "cache/tiers.h"
#include "core/rate.h"
#include "ratelimit/limiter.h"

namespace {

using namespace lingxi;
namespace net = boost::asio;

std::string Key(int i) { return fmt::format("{:064x}", static_cast<uint64_t>(i) * 0x9e3779b97f4a7c15ull); }

// Tier calls are coroutines: the timed loop runs inside one, so a measured call is the call.
template <typename F>
void InCoroutine(F body) {
  net::io_context io;
  net::co_spawn(io, body(), net::detached);
  io.run();
}

void BM_MemoryTierGetHit(benchmark::State& state) {
  metrics::Metrics metrics;
  auto tier = cache::MakeMemoryTier(256u << 20, metrics);
  const std::string value(1024, 'v');
  constexpr int kKeys = 10'000;
  std::vector<std::string> keys;
  for (int i = 0; i < kKeys; ++i) keys.push_back(Key(i));
  InCoroutine([&]() -> http::Task<void> {
    for (const auto& k : keys) co_await tier->Put(k, value, std::chrono::hours(1));
    size_t i = 0;
    for (auto _ : state) {
      auto got = co_await tier->Get(keys[i++ % kKeys]);
      benchmark::DoNotOptimize(got);
    }
  });
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MemoryTierGetHit);

void BM_MemoryTierPutWithEviction(benchmark::State& state) {
  metrics::Metrics metrics;
  auto tier = cache::MakeMemoryTier(16u << 20, metrics);  // ~15k entries fit: the rest evict
  const std::string value(1024, 'v');
  InCoroutine([&]() -> http::Task<void> {
    int i = 0;
    for (auto _ : state) co_await tier->Put(Key(i++), value, std::chrono::hours(1));
  });
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MemoryTierPutWithEviction);

void BM_CacheKey(benchmark::State& state) {
  engine::ChatRequest r;
  r.model = "kimi-k2.5";
  r.sampling.temperature = 0;
  for (const char* role : {"system", "user", "assistant"}) r.messages.push_back(engine::Message::OfText(role, std::string(200, 'x')));
  for (auto _ : state) benchmark::DoNotOptimize(cache::CacheKey(r, "kimi-k2.5"));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CacheKey);

void BM_LimiterLocalDecision(benchmark::State& state) {
  metrics::Metrics metrics;
  ratelimit::RateLimiter limiter({}, metrics);
  auto limit = *RateLimit::Parse("100/minute");
  std::vector<std::string> keys;
  for (int i = 0; i < 10'000; ++i) keys.push_back(fmt::format("ip:10.0.{}.{}", i / 256, i % 256));
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(limiter.CheckLocal(keys[i++ % keys.size()], limit));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LimiterLocalDecision);

}  // namespace

BENCHMARK_MAIN();
