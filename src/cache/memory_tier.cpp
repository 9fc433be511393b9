#include <array>
#include <list>
#include <mutex>
#include <unordered_map>

#include "cache/tiers.h"

namespace lingxi::cache {
namespace {

using Clock = std::chrono::steady_clock;

class MemoryTier : public Tier {
 public:
  MemoryTier(size_t max_bytes, metrics::Metrics& m)
      : shard_budget_(std::max<size_t>(max_bytes / kShards, 1)),
        bytes_(prometheus::BuildGauge().Name("lingxi_cache_bytes").Help("Bytes held by a cache tier")
                   .Register(m.registry()).Add({{"tier", "memory"}})),
        evictions_(prometheus::BuildCounter().Name("lingxi_cache_evictions_total")
                       .Help("Entries a cache tier dropped to stay in its budget or because they expired")
                       .Register(m.registry()).Add({{"tier", "memory"}})) {}

  const char* name() const override { return "memory"; }

  http::Task<Result<std::optional<std::string>>> Get(const std::string& key) override {
    co_return GetNow(key);
  }

  http::Task<Status> Put(const std::string& key, const std::string& value, std::chrono::milliseconds ttl) override {
    PutNow(key, value, ttl);
    co_return Status::Ok();
  }

 private:
  static constexpr size_t kShards = 16;
  struct Entry {
    std::string key, value;
    Clock::time_point expires;
    size_t Size() const { return key.size() + value.size() + 64; }
  };
  struct Shard {
    std::mutex mu;
    std::list<Entry> lru;  // front = most recently used
    std::unordered_map<std::string_view, std::list<Entry>::iterator> index;  // views into lru's keys
    size_t bytes = 0;
  };

  Shard& ShardOf(const std::string& key) { return shards_[std::hash<std::string>{}(key) % kShards]; }

  void Drop(Shard& s, std::list<Entry>::iterator it) {
    s.bytes -= it->Size();
    bytes_.Decrement(static_cast<double>(it->Size()));
    s.index.erase(it->key);
    s.lru.erase(it);
  }

  Result<std::optional<std::string>> GetNow(const std::string& key) {
    Shard& s = ShardOf(key);
    std::lock_guard lock(s.mu);
    auto it = s.index.find(key);
    if (it == s.index.end()) return std::optional<std::string>();
    if (Clock::now() >= it->second->expires) {
      Drop(s, it->second);
      evictions_.Increment();
      return std::optional<std::string>();
    }
    s.lru.splice(s.lru.begin(), s.lru, it->second);
    return std::optional<std::string>(it->second->value);
  }

  void PutNow(const std::string& key, const std::string& value, std::chrono::milliseconds ttl) {
    Shard& s = ShardOf(key);
    Entry e{key, value, Clock::now() + ttl};
    if (e.Size() > shard_budget_) return;  // would evict everything for one entry
    std::lock_guard lock(s.mu);
    if (auto it = s.index.find(key); it != s.index.end()) Drop(s, it->second);
    s.bytes += e.Size();
    bytes_.Increment(static_cast<double>(e.Size()));
    s.lru.push_front(std::move(e));
    s.index.emplace(s.lru.front().key, s.lru.begin());
    while (s.bytes > shard_budget_) {
      Drop(s, std::prev(s.lru.end()));
      evictions_.Increment();
    }
  }

  size_t shard_budget_;
  std::array<Shard, kShards> shards_;
  prometheus::Gauge& bytes_;
  prometheus::Counter& evictions_;
};

}  // namespace

std::unique_ptr<Tier> MakeMemoryTier(size_t max_bytes, metrics::Metrics& metrics) {
  return std::make_unique<MemoryTier>(max_bytes, metrics);
}

}  // namespace lingxi::cache
