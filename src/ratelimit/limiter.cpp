#include "ratelimit/limiter.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "core/log.h"

namespace lingxi::ratelimit {
namespace {

int64_t NowUs() {
  return std::chrono::duration_cast<microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// KEYS[1]: the key. ARGV: emission interval, period (µs). Redis's clock, so replicas agree.
// Returns {allowed, retry_after_us, reset_us}.
const redis::Script& GcraScript() {
  static const redis::Script script(R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - period
if now < allow_at then
  return {0, allow_at - now, tat - now}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, 0, new_tat - now}
)lua");
  return script;
}

Decision FromTimes(const Limit& limit, bool allowed, int64_t retry_after_us, int64_t reset_us) {
  Decision d;
  d.allowed = allowed;
  d.limit = limit.count;
  int64_t interval = limit.period.count() / limit.count;
  d.remaining = std::clamp<int64_t>((limit.period.count() - reset_us) / std::max<int64_t>(interval, 1), 0, limit.count);
  d.reset = microseconds(std::max<int64_t>(reset_us, 0));
  d.retry_after = microseconds(std::max<int64_t>(retry_after_us, 0));
  return d;
}

}  // namespace

Decision Gcra(int64_t& tat_us, int64_t now_us, const Limit& limit) {
  int64_t interval = limit.period.count() / limit.count;
  int64_t tat = std::max(tat_us, now_us);
  int64_t new_tat = tat + interval;
  int64_t allow_at = new_tat - limit.period.count();
  if (now_us < allow_at) return FromTimes(limit, false, allow_at - now_us, tat - now_us);
  tat_us = new_tat;
  return FromTimes(limit, true, 0, new_tat - now_us);
}

RateLimiter::RateLimiter(Options options, metrics::Metrics& metrics)
    : options_(std::move(options)),
      decisions_(prometheus::BuildCounter().Name("lingxi_ratelimit_decisions_total")
                     .Help("Rate limit decisions by scope (ip, key, user) and decision").Register(metrics.registry())),
      redis_up_(prometheus::BuildGauge().Name("lingxi_ratelimit_redis_up")
                    .Help("1 while the limiter counts in Redis, 0 while it falls back to local counting")
                    .Register(metrics.registry()).Add({})),
      redis_errors_(prometheus::BuildCounter().Name("lingxi_ratelimit_redis_errors_total")
                        .Help("Limiter calls to Redis that failed").Register(metrics.registry()).Add({})) {
  redis_up_.Set(options_.redis ? 1 : 0);
  const char* scopes[] = {"ip", "key", "user"};
  for (int s = 0; s < 3; ++s)
    for (int d = 0; d < 2; ++d)
      decision_series_[s][d] = &decisions_.Add({{"scope", scopes[s]}, {"decision", d == 0 ? "allowed" : "limited"}});
}

void RateLimiter::Count(std::string_view scope, bool allowed) {
  int s = scope == "ip" ? 0 : scope == "key" ? 1 : scope == "user" ? 2 : -1;
  if (s >= 0) decision_series_[s][allowed ? 0 : 1]->Increment();
  else decisions_.Add({{"scope", std::string(scope)}, {"decision", allowed ? "allowed" : "limited"}}).Increment();
}

void RateLimiter::RedisState(bool up, const Status& error) {
  if (!up) redis_errors_.Increment();
  std::lock_guard lock(state_mu_);
  if (up == redis_was_up_) return;
  redis_was_up_ = up;
  redis_up_.Set(up ? 1 : 0);
  if (up) LogInfo("redis is back: rate limits are shared again");
  else LogWarn(options_.fail_open ? "redis is down: rate limits count locally until it is back"
                                  : "redis is down: requests are refused until it is back",
               {{"error", error.message()}});
}

Decision RateLimiter::CheckLocal(const std::string& key, const Limit& limit) {
  Shard& s = shards_[std::hash<std::string>{}(key) % shards_.size()];
  int64_t now = NowUs();
  std::lock_guard lock(s.mu);
  // Now and then drop keys whose allowance is full again: they hold no information.
  if (++s.inserts % 4096 == 0)
    std::erase_if(s.tat, [now](const auto& kv) { return kv.second <= now; });
  auto [it, inserted] = s.tat.try_emplace(key, now);
  return Gcra(it->second, now, limit);
}

http::Task<Result<Decision>> RateLimiter::Check(std::string_view scope, std::string key, const Limit& limit) {
  if (!limit.enabled()) co_return Decision{};
  if (options_.redis) {
    int64_t interval = limit.period.count() / limit.count;
    std::vector<std::string> keys = {options_.prefix + key};  // not braced inside co_await (GCC 12)
    std::vector<std::string> args = {std::to_string(interval), std::to_string(limit.period.count())};
    auto r = co_await options_.redis->Eval(GcraScript(), std::move(keys), std::move(args));
    Status error;
    if (!r.ok()) error = r.status();
    else if (r->type != redis::Reply::Type::kArray || r->elements.size() != 3)
      error = Status::Unavailable("redis: unexpected limiter reply " + r->str);
    if (error.ok()) {
      RedisState(true, error);
      Decision d = FromTimes(limit, r->elements[0].integer == 1, r->elements[1].integer, r->elements[2].integer);
      Count(scope, d.allowed);
      co_return d;
    }
    RedisState(false, error);
    if (!options_.fail_open) co_return Status::Unavailable("rate limiting is unavailable (redis is down)");
  }
  Decision d = CheckLocal(key, limit);
  Count(scope, d.allowed);
  co_return d;
}

}  // namespace lingxi::ratelimit
