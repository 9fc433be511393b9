// The cache tiers. Each is a cache::Tier; TieredCache orders them as configured.
#pragma once

#include <memory>
#include <string>

#include "cache/cache.h"
#include "metrics/registry.h"
#include "redis/client.h"

namespace lingxi::cache {

// Process memory: 16 shards, each an LRU list with a byte budget (keys + values); entries
// expire at their TTL. Lookups take one shard's mutex for a hash probe and a list splice.
std::unique_ptr<Tier> MakeMemoryTier(size_t max_bytes, metrics::Metrics& metrics);

// Redis, shared by every replica: GET / SET PX under `prefix`. While Redis is down it fails
// fast (redis::Client) and the tier is skipped.
std::unique_ptr<Tier> MakeRedisTier(redis::Client& client, std::string prefix);

// Disk (RocksDB at `path`): survives restarts. FIFO compaction keeps the files under
// `max_bytes` (oldest first); each value carries its expiry time, checked on read.
Result<std::unique_ptr<Tier>> MakeDiskTier(const std::string& path, uint64_t max_bytes);

}  // namespace lingxi::cache
