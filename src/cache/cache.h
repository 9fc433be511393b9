// The response cache: tiers looked up in order (by default process memory, then Redis, then
// disk), a hit in a lower tier copied into the tiers above it, and single-flight so identical
// requests that arrive together cost one engine call.
//
// Keys: CacheKey() hashes the canonical request: the answering model, every message part
// (images and audio by a hash of their bytes), tools, every sampling field and the fields
// passed through to upstreams. Only deterministic requests are cached (temperature 0 or an
// explicit seed) unless `cache_nondeterministic` says otherwise: a cache must not make a
// sampled answer the only answer.
//
// Metrics: lingxi_cache_requests_total{tier,result} (hit, miss), lingxi_cache_lookup_seconds{tier},
// lingxi_cache_evictions_total{tier}, lingxi_cache_bytes{tier}, lingxi_cache_coalesced_total,
// lingxi_cache_errors_total{tier}.
// Thread-safe.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "engine/types.h"
#include "http/message.h"
#include "metrics/registry.h"

namespace lingxi::cache {

// A finished answer as the cache keeps it.
struct CachedAnswer {
  std::string text;
  std::string reasoning;
  std::string tool_calls;
  engine::FinishReason finish = engine::FinishReason::kStop;
  engine::Usage usage;
  std::string Encode() const;
  static std::optional<CachedAnswer> Decode(std::string_view bytes);
};

bool Cacheable(const engine::ChatRequest& request, bool nondeterministic_too);
// Hex SHA-256 of the canonical request as `model` answers it.
std::string CacheKey(const engine::ChatRequest& request, const std::string& model);

// One level of the cache. Get/Put may fail (a tier that is down is skipped, not fatal).
class Tier {
 public:
  virtual ~Tier() = default;
  virtual const char* name() const = 0;  // "memory", "redis", "disk"
  virtual http::Task<Result<std::optional<std::string>>> Get(const std::string& key) = 0;
  virtual http::Task<Status> Put(const std::string& key, const std::string& value, std::chrono::milliseconds ttl) = 0;
  virtual void Close() {}
};

class TieredCache {
 public:
  TieredCache(std::vector<std::unique_ptr<Tier>> tiers, std::chrono::milliseconds ttl, metrics::Metrics& metrics);

  struct Hit {
    CachedAnswer answer;
    int tier = 0;  // 1-based: 1 = first tier ("HIT-L1")
  };
  // Looks `key` up tier by tier; a hit is copied into the tiers above it.
  http::Task<std::optional<Hit>> Lookup(const std::string& key);
  // Writes through every tier. By value: it runs detached, after the answer is gone.
  http::Task<void> Store(std::string key, CachedAnswer answer);

  // Single-flight. Join() returns nullptr to the first caller of a key (the leader, who must
  // call Finish) and a Flight to wait on to the others.
  class Flight;
  std::shared_ptr<Flight> Join(const std::string& key, const boost::asio::any_io_executor& ex);
  void Finish(const std::string& key, std::optional<CachedAnswer> answer);
  // Waits for the leader's answer (nullopt: it failed or was not cacheable).
  static http::Task<std::optional<CachedAnswer>> Wait(std::shared_ptr<Flight> flight);

  void Close();
  size_t tiers() const { return tiers_.size(); }

 private:
  std::vector<std::unique_ptr<Tier>> tiers_;
  std::chrono::milliseconds ttl_;
  // Per tier, looked up once (a label map per lookup cost more than the memory tier itself).
  struct TierSeries {
    prometheus::Counter* hit;
    prometheus::Counter* miss;
    prometheus::Counter* error;
    prometheus::Histogram* lookup;
  };
  std::vector<TierSeries> series_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& lookup_seconds_;
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Counter& coalesced_;
  std::mutex mu_;
  std::unordered_map<std::string, std::vector<std::shared_ptr<Flight>>> flights_;  // guarded by mu_
};

}  // namespace lingxi::cache
