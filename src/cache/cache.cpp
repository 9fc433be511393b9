#include "cache/cache.h"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "core/log.h"
#include "core/sha256.h"
#include "engine/mailbox.h"

namespace lingxi::cache {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

// Incremental SHA-256 over length-prefixed fields, so ("ab","c") and ("a","bc") differ.
class Hasher {
 public:
  Hasher() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Hasher() { EVP_MD_CTX_free(ctx_); }
  Hasher& Add(std::string_view s) {
    uint64_t n = s.size();
    EVP_DigestUpdate(ctx_, &n, sizeof n);
    EVP_DigestUpdate(ctx_, s.data(), s.size());
    return *this;
  }
  // Numbers as their bytes: exact, and no formatting on every request.
  Hasher& Add(double v) { return Add(std::string_view(reinterpret_cast<const char*>(&v), sizeof v)); }
  Hasher& Add(int64_t v) { return Add(std::string_view(reinterpret_cast<const char*>(&v), sizeof v)); }
  std::string Hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, md, &len);
    return HexDigest(md, len);
  }

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace

// Engine-side wait for a leader's answer.
class TieredCache::Flight {
 public:
  explicit Flight(const boost::asio::any_io_executor& ex) : box(ex) {}
  engine::Mailbox<std::optional<CachedAnswer>> box;
};

std::string CachedAnswer::Encode() const {
  json j = {{"t", text}, {"r", reasoning}, {"c", tool_calls}, {"f", static_cast<int>(finish)},
            {"u", {usage.prompt_tokens, usage.completion_tokens, usage.cached_prompt_tokens}}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<CachedAnswer> CachedAnswer::Decode(std::string_view bytes) {
  json j = json::parse(bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  try {
    CachedAnswer a;
    a.text = j.at("t").get<std::string>();
    a.reasoning = j.at("r").get<std::string>();
    a.tool_calls = j.at("c").get<std::string>();
    a.finish = static_cast<engine::FinishReason>(j.at("f").get<int>());
    const auto& u = j.at("u");
    a.usage = {u.at(0).get<int>(), u.at(1).get<int>(), u.at(2).get<int>()};
    return a;
  } catch (const json::exception&) {
    return std::nullopt;  // an entry from another version: a miss
  }
}

bool Cacheable(const engine::ChatRequest& r, bool nondeterministic_too) {
  if (!r.cache) return false;
  return nondeterministic_too || r.sampling.temperature <= 0 || r.sampling.seed.has_value();
}

std::string CacheKey(const engine::ChatRequest& r, const std::string& model) {
  Hasher h;
  h.Add("lingxi-cache-v1").Add(model);
  h.Add(r.prompt ? "prompt" : "chat").Add(r.prompt.value_or(""));
  for (const auto& m : r.messages) {
    h.Add("msg").Add(m.role).Add(m.name).Add(m.reasoning).Add(m.tool_calls).Add(m.tool_call_id);
    for (const auto& p : m.parts) {
      h.Add(int64_t{static_cast<int>(p.kind)}).Add(p.mime);
      // Media by the hash of their bytes: the key stays small and names the content.
      h.Add(p.data.empty() ? p.text : Sha256Hex(p.data));
    }
  }
  const auto& s = r.sampling;
  h.Add("sampling").Add(double{s.temperature}).Add(double{s.top_p}).Add(int64_t{s.top_k}).Add(double{s.min_p});
  h.Add(double{s.repeat_penalty}).Add(double{s.presence_penalty}).Add(double{s.frequency_penalty});
  h.Add(int64_t{s.penalty_last_n}).Add(s.seed ? int64_t{*s.seed} : int64_t{-1}).Add(int64_t{s.max_tokens});
  for (const auto& stop : s.stop) h.Add(stop);
  h.Add(s.grammar).Add(s.json_schema).Add(s.json_object ? "1" : "0").Add(s.ignore_eos ? "1" : "0");
  h.Add(r.thinking ? (*r.thinking ? "on" : "off") : "-").Add(r.tools).Add(r.tool_choice);
  for (const auto& [name, value] : r.passthrough) h.Add(name).Add(value);
  return h.Hex();
}

TieredCache::TieredCache(std::vector<std::unique_ptr<Tier>> tiers, std::chrono::milliseconds ttl, metrics::Metrics& m)
    : tiers_(std::move(tiers)),
      ttl_(ttl),
      requests_(prometheus::BuildCounter().Name("lingxi_cache_requests_total")
                    .Help("Cache lookups by tier and result (hit, miss)").Register(m.registry())),
      lookup_seconds_(prometheus::BuildHistogram().Name("lingxi_cache_lookup_seconds")
                          .Help("Time of one cache tier lookup").Register(m.registry())),
      errors_(prometheus::BuildCounter().Name("lingxi_cache_errors_total")
                  .Help("Cache tier operations that failed (the tier was skipped)").Register(m.registry())),
      coalesced_(prometheus::BuildCounter().Name("lingxi_cache_coalesced_total")
                     .Help("Requests that waited for an identical request in flight instead of calling the engine")
                     .Register(m.registry()).Add({})) {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05};
  for (const auto& t : tiers_) {
    std::string name = t->name();
    series_.push_back({&requests_.Add({{"tier", name}, {"result", "hit"}}), &requests_.Add({{"tier", name}, {"result", "miss"}}),
                       &errors_.Add({{"tier", name}}), &lookup_seconds_.Add({{"tier", name}}, kBuckets)});
  }
}

http::Task<std::optional<TieredCache::Hit>> TieredCache::Lookup(const std::string& key) {
  for (size_t i = 0; i < tiers_.size(); ++i) {
    auto& tier = *tiers_[i];
    auto start = Clock::now();
    auto got = co_await tier.Get(key);
    series_[i].lookup->Observe(std::chrono::duration<double>(Clock::now() - start).count());
    if (!got.ok()) {
      series_[i].error->Increment();
      continue;
    }
    std::optional<CachedAnswer> answer;
    if (*got) answer = CachedAnswer::Decode(**got);
    (answer ? series_[i].hit : series_[i].miss)->Increment();
    if (!answer) continue;
    for (size_t up = 0; up < i; ++up) {  // promotion
      Status s = co_await tiers_[up]->Put(key, **got, ttl_);
      if (!s.ok()) series_[up].error->Increment();
    }
    co_return Hit{std::move(*answer), static_cast<int>(i) + 1};
  }
  co_return std::nullopt;
}

http::Task<void> TieredCache::Store(std::string key, CachedAnswer answer) {
  const std::string value = answer.Encode();
  for (size_t i = 0; i < tiers_.size(); ++i) {
    Status s = co_await tiers_[i]->Put(key, value, ttl_);
    if (!s.ok()) series_[i].error->Increment();
  }
}

std::shared_ptr<TieredCache::Flight> TieredCache::Join(const std::string& key, const boost::asio::any_io_executor& ex) {
  std::lock_guard lock(mu_);
  auto [it, leader] = flights_.try_emplace(key);
  if (leader) return nullptr;
  auto f = std::make_shared<Flight>(ex);
  it->second.push_back(f);
  coalesced_.Increment();
  return f;
}

void TieredCache::Finish(const std::string& key, std::optional<CachedAnswer> answer) {
  std::vector<std::shared_ptr<Flight>> waiters;
  {
    std::lock_guard lock(mu_);
    auto it = flights_.find(key);
    if (it == flights_.end()) return;
    waiters = std::move(it->second);
    flights_.erase(it);
  }
  for (auto& w : waiters) {
    w->box.Push(answer);
    w->box.Close();
  }
}

http::Task<std::optional<CachedAnswer>> TieredCache::Wait(std::shared_ptr<Flight> flight) {
  auto got = co_await flight->box.Next();
  co_return got ? std::move(*got) : std::nullopt;
}

void TieredCache::Close() {
  for (auto& t : tiers_) t->Close();
}

}  // namespace lingxi::cache
