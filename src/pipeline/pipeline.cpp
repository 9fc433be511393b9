#include "pipeline/pipeline.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <algorithm>

#include <fmt/format.h>

#include "core/log.h"
#include "core/sha256.h"

namespace lingxi::pipeline {
namespace {

// Failures of the model, not of the request: another model may do better.
bool ModelFailure(const Status& s) {
  return s.code() == Status::Code::kUnavailable || s.code() == Status::Code::kDeadlineExceeded ||
         s.code() == Status::Code::kBadGateway;
}

}  // namespace

Status Answer::Submit(const std::shared_ptr<engine::Engine>& engine, engine::EngineInfo info) {
  // The request is kept for a fallback model; with none left to try, the engine takes it.
  auto stream = engine->Submit(chain_.empty() ? std::move(request_) : request_, executor_);
  if (!stream.ok()) return stream.status();
  model_ = std::move(info);
  stream_ = std::move(*stream);
  return Status::Ok();
}

http::Task<Status> Answer::Begin() {
  for (;;) {
    first_ = co_await stream_->Next();
    if (!first_) co_return Status::Internal("the engine closed its answer without a final chunk");
    bool failed = first_->finish && !first_->error.ok();
    if (!failed || cancelled_ || !ModelFailure(first_->error)) co_return first_->error;
    if (!pipeline_->FallBack(*this, first_->error)) co_return first_->error;
  }
}

http::Task<std::optional<engine::ChatChunk>> Answer::Next() {
  std::optional<engine::ChatChunk> c = TryNext();
  if (c) co_return c;
  c = co_await stream_->Next();
  if (c && flight_open_) Tee(*c);
  co_return c;
}

std::optional<engine::ChatChunk> Answer::TryNext() {
  std::optional<engine::ChatChunk> c;
  if (first_) {
    c = std::move(first_);
    first_.reset();
  } else {
    c = stream_->TryNext();
  }
  if (c && flight_open_) Tee(*c);
  return c;
}

Answer::~Answer() {
  // A leader that never finished (client gone, engine error): its waiters ask the engine.
  if (flight_open_) pipeline_->cache_.cache->Finish(cache_key_, std::nullopt);
}

void Answer::Tee(const engine::ChatChunk& c) {
  gathered_.text += c.delta;
  gathered_.reasoning += c.reasoning;
  if (!c.tool_calls.empty()) gathered_.tool_calls = c.tool_calls;  // non-streamed: whole
  if (!c.finish) return;
  flight_open_ = false;
  auto* cache = pipeline_->cache_.cache;
  bool complete = c.error.ok() && *c.finish != engine::FinishReason::kCancelled &&
                  *c.finish != engine::FinishReason::kError;
  // Streamed tool calls arrive as deltas that would need merging: such answers are not kept.
  if (request_.stream && gathered_.tool_calls.size() > 0) complete = false;
  if (!complete) {
    cache->Finish(cache_key_, std::nullopt);
    return;
  }
  gathered_.finish = *c.finish;
  gathered_.usage = c.usage;
  cache->Finish(cache_key_, gathered_);
  // Written behind the answer: the client does not wait for Redis or the disk.
  boost::asio::co_spawn(executor_, cache->Store(cache_key_, gathered_), boost::asio::detached);
}

void Answer::Replay(const cache::CachedAnswer& a) {
  auto replay = std::make_shared<engine::MailboxStream>(executor_);
  engine::ChatChunk piece;
  piece.delta = a.text;
  piece.reasoning = a.reasoning;
  piece.tool_calls = a.tool_calls;
  if (!piece.delta.empty() || !piece.reasoning.empty() || !piece.tool_calls.empty()) replay->Push(std::move(piece));
  engine::ChatChunk last;
  last.finish = a.finish;
  last.usage = a.usage;
  replay->Push(std::move(last));
  replay->Close();
  stream_ = std::move(replay);
}

void Answer::Cancel() {
  cancelled_ = true;
  if (stream_) stream_->Cancel();
}

Pipeline::Pipeline(engine::ModelRegistry& models, metrics::Metrics& metrics, Limits limits, CacheOptions cache)
    : models_(models),
      limits_(std::move(limits)),
      cache_(cache),
      fallbacks_(prometheus::BuildCounter()
                     .Name("lingxi_pipeline_fallbacks_total")
                     .Help("Requests answered by a fallback model because their model could not")
                     .Register(metrics.registry())) {
  for (const auto& k : limits_.keys) {
    keys_by_hash_[k.sha256] = &k;
    keys_by_name_[k.name] = &k;
  }
}

http::Task<Admission> Pipeline::Admit(const Caller& caller) {
  Admission out;
  const ApiKey* key = nullptr;
  if (!keys_by_hash_.empty()) {
    if (caller.bearer.empty()) {
      out.status = Status::Unauthenticated("an API key is required: send Authorization: Bearer <key>");
      co_return out;
    }
    auto it = keys_by_hash_.find(Sha256Hex(caller.bearer));
    if (it == keys_by_hash_.end()) {
      out.status = Status::Unauthenticated("the API key is not valid");
      co_return out;
    }
    key = it->second;
    out.key = key->name;
  }
  if (!limits_.limiter) co_return out;
  // Every limit that applies is counted; the client hears about the tightest one.
  struct Check {
    const char* scope;
    std::string id;
    RateLimit limit;
  };
  std::vector<Check> checks;
  if (limits_.per_ip.enabled()) checks.push_back({"ip", "ip:" + caller.ip, limits_.per_ip});
  if (key) {
    RateLimit l = key->limit.enabled() ? key->limit : limits_.per_key;
    if (l.enabled()) checks.push_back({"key", "key:" + key->name, l});
  }
  if (!caller.user.empty() && limits_.per_user.enabled()) checks.push_back({"user", "user:" + caller.user, limits_.per_user});
  for (auto& c : checks) {
    auto d = co_await limits_.limiter->Check(c.scope, c.id, c.limit);
    if (!d.ok()) {
      out.status = d.status();
      co_return out;
    }
    if (!out.limit || !d->allowed || (out.limit->allowed && d->remaining < out.limit->remaining)) out.limit = *d;
    if (!d->allowed) {
      out.status = Status::ResourceExhausted(fmt::format("rate limit of {} per {} exceeded; retry in {} s",
                                                         c.limit.ToString(), c.scope == std::string_view("ip") ? "client address" : c.scope,
                                                         (d->retry_after.count() + 999'999) / 1'000'000));
      co_return out;
    }
  }
  co_return out;
}

Status Pipeline::MayUse(const std::string& key, const std::string& model) const {
  if (key.empty()) return Status::Ok();
  auto it = keys_by_name_.find(key);
  if (it == keys_by_name_.end() || it->second->models.empty()) return Status::Ok();
  const auto& allowed = it->second->models;
  auto engine = models_.Find(model);
  std::string id = engine.ok() ? (*engine)->info().id : model;
  if (std::find(allowed.begin(), allowed.end(), id) != allowed.end() ||
      std::find(allowed.begin(), allowed.end(), model) != allowed.end())
    return Status::Ok();
  return Status::PermissionDenied(fmt::format("the API key '{}' may not use the model '{}'", key, id));
}

http::Task<Result<std::shared_ptr<Answer>>> Pipeline::Generate(engine::ChatRequest&& request,
                                                               boost::asio::any_io_executor executor) {
  if (Status s = MayUse(request.api_key, request.model); !s.ok()) co_return s;
  auto engine = models_.Find(request.model);
  if (!engine.ok() && engine.status().code() == Status::Code::kNotFound) co_return engine.status();
  auto answer = std::make_shared<Answer>(Answer::Key(), this, std::move(request), executor);

  if (engine.ok() && cache_.cache && cache::Cacheable(answer->request_, cache_.nondeterministic)) {
    answer->model_ = (*engine)->info();
    answer->cache_status_ = "MISS";
    std::string key = cache::CacheKey(answer->request_, answer->model_.id);
    if (auto hit = co_await cache_.cache->Lookup(key)) {
      answer->cache_status_ = "HIT-L" + std::to_string(hit->tier);
      answer->Replay(hit->answer);
      co_return answer;
    }
    if (auto flight = cache_.cache->Join(key, executor)) {
      // An identical request is being answered: take its answer rather than ask again.
      if (auto shared = co_await cache::TieredCache::Wait(flight)) {
        answer->Replay(*shared);
        co_return answer;
      }
    } else {
      answer->cache_key_ = key;
      answer->flight_open_ = true;
    }
  }

  Status s = engine.ok() ? Status::Ok() : engine.status();
  if (engine.ok()) {
    engine::EngineInfo info = (*engine)->info();
    answer->chain_ = info.fallback;
    s = answer->Submit(*engine, std::move(info));
  }
  if (!s.ok()) {
    if (!ModelFailure(s)) co_return s;
    if (!FallBack(*answer, s)) co_return s;
  }
  co_return answer;
}

bool Pipeline::FallBack(Answer& answer, const Status& why) {
  std::string from = answer.model_.id.empty() ? answer.request_.model : answer.model_.id;
  const std::string request_id = answer.request_.request_id;  // the last Submit takes the request
  if (answer.flight_open_) {  // another model's answer must not be kept under this one's key
    answer.flight_open_ = false;
    cache_.cache->Finish(answer.cache_key_, std::nullopt);
  }
  while (!answer.chain_.empty()) {
    std::string next = answer.chain_.front();
    answer.chain_.erase(answer.chain_.begin());
    auto engine = models_.Find(next);
    if (!engine.ok()) continue;
    if (!answer.Submit(*engine, (*engine)->info()).ok()) continue;
    fallbacks_.Add({{"from", from}, {"to", answer.model_.id}}).Increment();
    LogWarn("model unavailable; answering with its fallback",
            {{"model", from}, {"fallback", answer.model_.id}, {"error", why.message()},
             {"request_id", request_id}});
    return true;
  }
  return false;
}

Result<Pipeline::EmbedStarted> Pipeline::Embed(const std::string& key, const std::string& model,
                                               std::vector<std::string> inputs, boost::asio::any_io_executor executor) {
  if (Status s = MayUse(key, model); !s.ok()) return s;
  auto engine = models_.Find(model);
  if (!engine.ok()) return engine.status();
  auto result = (*engine)->Embed(std::move(inputs), std::move(executor));
  if (!result.ok()) return result.status();
  return EmbedStarted{(*engine)->info(), std::move(*result)};
}

}  // namespace lingxi::pipeline
