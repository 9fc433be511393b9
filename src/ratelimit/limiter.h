// Rate limits: GCRA (the generic cell rate algorithm, a token bucket kept as one timestamp per
// key). A limit of N per period lets a client send N requests at once, then one every
// period/N; it is exact at the boundary and needs no background refill.
//
// Two stores: local (this process, sharded maps) and Redis (one Lua script, atomic, Redis's
// own clock, so every replica shares one count). When Redis cannot be reached the limiter
// counts locally (`fail_open`, the default) or refuses (Unavailable), logs it once, exposes
// it as lingxi_ratelimit_redis_up 0, and goes back to Redis by itself when it answers again.
//
// Metrics: lingxi_ratelimit_decisions_total{scope,decision} (allowed, limited),
//          lingxi_ratelimit_redis_up, lingxi_ratelimit_redis_errors_total.
// Thread-safe.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/rate.h"
#include "core/status.h"
#include "http/message.h"
#include "metrics/registry.h"
#include "redis/client.h"

namespace lingxi::ratelimit {

using std::chrono::microseconds;

using Limit = RateLimit;

struct Decision {
  bool allowed = true;
  int64_t limit = 0;        // X-RateLimit-Limit
  int64_t remaining = 0;    // X-RateLimit-Remaining: requests that would pass right now
  microseconds reset{0};    // X-RateLimit-Reset: until the full allowance is back
  microseconds retry_after{0};  // when limited: until the next request would pass
};

// The GCRA step on one key's state (its theoretical arrival time, `tat`). Pure; used by the
// local store and mirrored by the Lua script.
Decision Gcra(int64_t& tat_us, int64_t now_us, const Limit& limit);

class RateLimiter {
 public:
  struct Options {
    redis::Client* redis = nullptr;  // null: local only
    bool fail_open = true;           // Redis down: count locally (true) or refuse (false)
    std::string prefix = "lingxi:rl:";
  };
  RateLimiter(Options options, metrics::Metrics& metrics);

  // Counts one request of `key` (e.g. "ip:10.0.0.7") against `limit`.
  http::Task<Result<Decision>> Check(std::string_view scope, std::string key, const Limit& limit);
  Decision CheckLocal(const std::string& key, const Limit& limit);

 private:
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, int64_t> tat;  // guarded by mu
    size_t inserts = 0;                            // guarded by mu; drives the sweep
  };
  void Count(std::string_view scope, bool allowed);
  void RedisState(bool up, const Status& error);

  Options options_;
  std::array<Shard, 16> shards_;
  prometheus::Family<prometheus::Counter>& decisions_;
  // {ip, key, user} x {allowed, limited}, looked up once: a label map per decision cost ~10%
  // of a cache hit's throughput.
  std::array<std::array<prometheus::Counter*, 2>, 3> decision_series_{};
  prometheus::Gauge& redis_up_;
  prometheus::Counter& redis_errors_;
  std::mutex state_mu_;
  bool redis_was_up_ = true;  // guarded by state_mu_; logs each change once
};

}  // namespace lingxi::ratelimit
