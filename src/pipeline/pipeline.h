// Pipeline: the steps between a parsed request and an engine, in one place, so the REST API,
// the bot and the console share one path: Admit() (API key, then rate limits by address, key
// and user), then Generate() (the key may use the model; the response cache with
// single-flight; the engine; the model's fallback chain when it cannot answer). Cost
// accounting joins here too.
// Thread-safe; owned by main.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <prometheus/counter.h>
#include <prometheus/family.h>

#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "cache/cache.h"
#include "core/rate.h"
#include "core/status.h"
#include "engine/registry.h"
#include "metrics/registry.h"
#include "ratelimit/limiter.h"

namespace lingxi::pipeline {

// One answer being produced. Begin() waits for the first chunk, so a model that fails before
// it says anything (its upstream replicas all down, say) is replaced by the next model of its
// fallback chain, and the client gets a plain HTTP error rather than a broken stream when none
// can answer. Used on one executor; Cancel() stops the engine (the client left).
class Answer {
  struct Key {  // only the pipeline makes answers
    explicit Key() = default;
  };

 public:
  Answer(Key, class Pipeline* pipeline, engine::ChatRequest&& request, boost::asio::any_io_executor executor)
      : pipeline_(pipeline), request_(std::move(request)), executor_(std::move(executor)) {}
  ~Answer();
  // Ok once a model has started answering; else the last model's error.
  http::Task<Status> Begin();
  // The chunks in order, the first one included; nullopt after the final chunk.
  http::Task<std::optional<engine::ChatChunk>> Next();
  // Next() when a chunk is already there; nullopt when the caller must wait in Next().
  std::optional<engine::ChatChunk> TryNext();
  void Cancel();
  // The model answering (after Begin: possibly a fallback).
  const engine::EngineInfo& model() const { return model_; }
  // "HIT-L1", "HIT-L2", "HIT-L3" (the tier that answered) or "MISS"; "" when not cacheable.
  const std::string& cache_status() const { return cache_status_; }

 private:
  friend class Pipeline;
  Status Submit(const std::shared_ptr<engine::Engine>& engine, engine::EngineInfo info);  // info: engine->info()
  void Replay(const cache::CachedAnswer& cached);  // the answer comes from the cache
  void Tee(const engine::ChatChunk& chunk);        // the leader gathers what it will store

  class Pipeline* pipeline_;
  engine::ChatRequest request_;  // kept for a fallback; moved to the last engine tried
  boost::asio::any_io_executor executor_;
  engine::EngineInfo model_;
  std::vector<std::string> chain_;  // fallback model ids still to try
  std::shared_ptr<engine::ChunkStream> stream_;
  std::optional<engine::ChatChunk> first_;
  bool cancelled_ = false;
  std::string cache_status_;
  std::string cache_key_;       // set on the single-flight leader, which stores the answer
  cache::CachedAnswer gathered_;
  bool flight_open_ = false;    // the leader has not told the waiters yet
};

// Who is asking: what keys and limits are checked against.
struct Caller {
  std::string ip;      // the client's address, after trusted proxies
  std::string bearer;  // the API key presented (Authorization: Bearer), "" if none
  std::string user;    // a chat user (the bot), "" if none
};

// An API key as the pipeline knows it: by the SHA-256 of the key, never the key.
struct ApiKey {
  std::string name;
  std::string sha256;
  RateLimit limit;                  // disabled: rate_limit.per_key applies
  std::vector<std::string> models;  // empty = all
};

// The outcome of the admission stage: ok, or the refusal (ResourceExhausted when limited,
// Unavailable when limits cannot be checked); `limit` is what the client is told about its
// allowance (X-RateLimit-* headers), when a limit applies.
struct Admission {
  Status status;
  std::optional<ratelimit::Decision> limit;  // the tightest limit that applied
  std::string key;                           // the API key's name, when one was presented
};

struct Limits {
  ratelimit::RateLimiter* limiter = nullptr;  // null: no limits
  RateLimit per_ip;
  RateLimit per_key;
  RateLimit per_user;
  std::vector<ApiKey> keys;  // none: open mode (no Authorization needed)
};

struct CacheOptions {
  cache::TieredCache* cache = nullptr;  // null: no response cache
  bool nondeterministic = false;        // cache sampled answers too
};

class Pipeline {
 public:
  Pipeline(engine::ModelRegistry& models, metrics::Metrics& metrics, Limits limits = {}, CacheOptions cache = {});

  // The stages before a model is asked: the API key (401 when keys are configured and it is
  // missing or unknown), then the limits by address, key and user (429). Shared by every
  // model endpoint, and by the bot.
  http::Task<Admission> Admit(const Caller& caller);
  // PermissionDenied when the API key `key` may not use `model` ("" key: anyone may).
  Status MayUse(const std::string& key, const std::string& model) const;

  // Finds the model, answers from the cache when it can (waiting for an identical request in
  // flight rather than asking the engine twice), else submits the request (or its first
  // fallback when the model is unavailable). NotFound for an unknown model; the engine's
  // refusal (bad request, full queue) otherwise. Takes `request` (moved from, not copied:
  // await the task before `request` goes).
  http::Task<Result<std::shared_ptr<Answer>>> Generate(engine::ChatRequest&& request, boost::asio::any_io_executor executor);

  struct EmbedStarted {
    engine::EngineInfo model;
    std::shared_ptr<engine::EmbeddingResult> result;
  };
  // `key`: the API key's name from Admit ("" in open mode).
  Result<EmbedStarted> Embed(const std::string& key, const std::string& model, std::vector<std::string> inputs,
                             boost::asio::any_io_executor executor);
  engine::ModelRegistry& models() { return models_; }

 private:
  friend class Answer;
  // Tries the next model of the answer's chain; false when none is left.
  bool FallBack(Answer& answer, const Status& why);

  engine::ModelRegistry& models_;
  Limits limits_;
  std::unordered_map<std::string, const ApiKey*> keys_by_hash_, keys_by_name_;  // into limits_.keys
  CacheOptions cache_;
  prometheus::Family<prometheus::Counter>& fallbacks_;  // {from, to}
};

}  // namespace lingxi::pipeline
