// LlamaEngine's inference thread: admission into sequence slots (with prefix reuse), the
// continuous-batching decode step, finishing requests, and embeddings.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "engine/llama/llama_engine_impl.h"

namespace lingxi::engine::llama {
namespace {

size_t CommonPrefix(const std::vector<llama_token>& a, const std::vector<llama_token>& b) {
  size_t n = std::min(a.size(), b.size()), i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

}  // namespace

void LlamaEngine::Loop() {
  for (;;) {
    std::vector<std::unique_ptr<Job>> admitted;
    std::deque<EmbedJob> embeds;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] {
        return stop_ || !embed_jobs_.empty() || active_ > 0 || (!waiting_.empty() && active_ < opt_.parallel);
      });
      if (stop_) break;
      while (!waiting_.empty() && active_ < opt_.parallel) {
        admitted.push_back(std::move(waiting_.front()));
        waiting_.pop_front();
        ++active_;
      }
      embeds.swap(embed_jobs_);
      metrics_.queue_length.Set(static_cast<double>(waiting_.size()));
      metrics_.active_sequences.Set(active_);
    }
    for (auto& job : admitted) Admit(std::move(job));
    for (auto& e : embeds) RunEmbed(e);
    Step();
  }
  // Shutting down: nobody will be served any more.
  for (auto& s : slots_)
    if (s.job) Finish(s, FinishReason::kError, Status::Unavailable("the server is shutting down"));
  std::lock_guard lock(mu_);
  for (auto& job : waiting_) {
    ChatChunk c;
    c.finish = FinishReason::kError;
    c.error = Status::Unavailable("the server is shutting down");
    job->out->Push(std::move(c));
    job->out->Close();
  }
  waiting_.clear();
}

void LlamaEngine::Admit(std::unique_ptr<Job> job) {
  // The idle slot sharing the longest prefix with this prompt; among equals the least recently used.
  Slot* best = nullptr;
  size_t best_prefix = 0;
  for (auto& s : slots_) {
    if (s.job) continue;
    size_t p = CommonPrefix(s.cache, job->prompt);
    if (!best || p > best_prefix || (p == best_prefix && s.last_used < best->last_used)) {
      best = &s;
      best_prefix = p;
    }
  }
  Slot& s = *best;
  // At least the last prompt token is decoded again: its logits give the first token.
  size_t keep = std::min(best_prefix, job->prompt.size() - 1);
  llama_memory_t mem = llama_get_memory(ctx_);
  if (!llama_memory_seq_rm(mem, s.seq, static_cast<llama_pos>(keep), -1)) {
    llama_memory_seq_rm(mem, s.seq, -1, -1);  // this memory cannot drop a suffix: start over
    keep = 0;
  }
  s.cache.resize(keep);
  s.prompt_done = keep;
  s.prompt_cached = keep;
  s.stop = StopMatcher(job->stops);
  s.generated = 0;
  s.generating = false;
  s.logits_index = -1;
  s.admitted = Clock::now();
  metrics_.queue_wait.Observe(Seconds(s.admitted - job->submitted));
  s.job = std::move(job);
}

void LlamaEngine::Step() {
  for (auto& s : slots_)
    if (s.job && s.job->out->cancelled()) Finish(s, FinishReason::kCancelled);

  batch_.n_tokens = 0;
  auto add = [&](llama_token t, size_t pos, llama_seq_id seq, bool logits) {
    int i = batch_.n_tokens++;
    batch_.token[i] = t;
    batch_.pos[i] = static_cast<llama_pos>(pos);
    batch_.n_seq_id[i] = 1;
    batch_.seq_id[i][0] = seq;
    batch_.logits[i] = logits;
    return i;
  };
  int sequences = 0;
  // Generating sequences first: one token each keeps every stream moving.
  for (auto& s : slots_) {
    if (!s.job || !s.generating) continue;
    s.logits_index = add(s.next, s.cache.size(), s.seq, true);
    s.cache.push_back(s.next);
    ++sequences;
  }
  // The rest of the budget goes to prompts, oldest admission first, in chunks.
  std::vector<Slot*> prefill;
  for (auto& s : slots_)
    if (s.job && !s.generating) prefill.push_back(&s);
  std::sort(prefill.begin(), prefill.end(), [](Slot* a, Slot* b) { return a->admitted < b->admitted; });
  for (Slot* s : prefill) {
    int budget = opt_.batch - batch_.n_tokens;
    if (budget <= 0) break;
    const auto& prompt = s->job->prompt;
    size_t take = std::min<size_t>(budget, prompt.size() - s->prompt_done);
    for (size_t i = 0; i < take; ++i) {
      size_t pos = s->prompt_done + i;
      bool last = pos + 1 == prompt.size();
      int row = add(prompt[pos], pos, s->seq, last);
      if (last) s->logits_index = row;
      s->cache.push_back(prompt[pos]);
    }
    s->prompt_done += take;
    ++sequences;
  }
  if (batch_.n_tokens == 0) return;

  metrics_.batch_tokens.Observe(batch_.n_tokens);
  metrics_.batch_sequences.Observe(sequences);
  int rc = llama_decode(ctx_, batch_);
  if (rc != 0) {
    // The batch's sequences are in an unknown state: fail them and drop their cache.
    for (auto& s : slots_) {
      if (!s.job) continue;
      llama_memory_seq_rm(llama_get_memory(ctx_), s.seq, -1, -1);
      s.cache.clear();
      Finish(s, FinishReason::kError, Status::Internal(fmt::format("llama_decode failed ({})", rc)));
    }
    return;
  }

  auto now = Clock::now();
  for (auto& s : slots_) {
    if (!s.job || s.logits_index < 0) continue;
    llama_token t = llama_sampler_sample(s.job->sampler.get(), ctx_, s.logits_index);
    s.logits_index = -1;
    if (!s.generating) {
      s.generating = true;
      s.first_token = now;
      metrics_.ttft.Observe(Seconds(now - s.admitted));
    } else {
      metrics_.itl.Observe(Seconds(now - s.last_token));
    }
    s.last_token = now;
    if (llama_vocab_is_eog(vocab_, t)) {
      Finish(s, FinishReason::kStop);
      continue;
    }
    ++s.generated;
    metrics_.generated_tokens.Increment();
    auto out = s.stop.Push(Piece(t));
    if (!out.text.empty()) {
      ChatChunk c;
      c.delta = std::move(out.text);
      s.job->out->Push(std::move(c));
    }
    if (out.stopped) Finish(s, FinishReason::kStop);
    else if (s.generated >= s.job->max_tokens || static_cast<int>(s.cache.size()) + 1 >= n_ctx_seq_)
      Finish(s, FinishReason::kLength);
    else s.next = t;
  }
  UpdateKvMetric();
}

void LlamaEngine::Finish(Slot& s, FinishReason reason, Status error) {
  auto now = Clock::now();
  ChatChunk c;
  if (reason == FinishReason::kStop || reason == FinishReason::kLength) c.delta = s.stop.Flush();
  c.finish = reason;
  c.error = std::move(error);
  c.usage.prompt_tokens = static_cast<int>(s.job->prompt.size());
  c.usage.completion_tokens = s.generated;
  c.usage.cached_prompt_tokens = static_cast<int>(s.prompt_cached);
  c.timings.queue_ms = Millis(s.admitted - s.job->submitted);
  c.timings.prompt_processed = static_cast<int>(s.prompt_done - s.prompt_cached);
  if (s.generating) {
    c.timings.prompt_ms = Millis(s.first_token - s.admitted);
    c.timings.generation_ms = Millis(now - s.first_token);
  } else {
    c.timings.prompt_ms = Millis(now - s.admitted);
  }
  metrics_.requests.Add({{"model", info_.id}, {"finish", FinishReasonName(reason)}}).Increment();
  metrics_.prompt_tokens.Increment(static_cast<double>(s.job->prompt.size()));
  metrics_.prompt_tokens_cached.Increment(static_cast<double>(s.prompt_cached));
  // A cancelled prompt may be half in the cache: `cache` lists exactly what was decoded.
  auto out = std::move(s.job->out);
  s.job.reset();
  s.generating = false;
  s.logits_index = -1;
  s.last_used = ++use_counter_;
  {
    std::lock_guard lock(mu_);
    --active_;
    metrics_.active_sequences.Set(active_);
  }
  // Last, so whoever reads the final chunk already sees the slot free in the metrics.
  out->Push(std::move(c));
  out->Close();
}

void LlamaEngine::UpdateKvMetric() {
  size_t used = 0;
  for (const auto& s : slots_) used += s.cache.size();
  metrics_.kv_usage.Set(static_cast<double>(used) / (static_cast<double>(n_ctx_seq_) * slots_.size()));
}

void LlamaEngine::RunEmbed(EmbedJob& job) {
  if (!embed_ctx_) {
    auto p = llama_context_default_params();
    p.n_ctx = static_cast<uint32_t>(n_ctx_seq_);
    p.n_batch = p.n_ubatch = static_cast<uint32_t>(n_ctx_seq_);
    p.n_seq_max = 1;
    p.embeddings = true;
    p.pooling_type = LLAMA_POOLING_TYPE_MEAN;
    p.n_threads = p.n_threads_batch = llama_n_threads(ctx_);
    embed_ctx_ = llama_init_from_model(model_, p);
    if (!embed_ctx_) {
      job.out->Push(Status::Internal("cannot create the embedding context"));
      job.out->Close();
      return;
    }
  }
  Embedding result;
  const int n_embd = llama_model_n_embd(model_);
  llama_batch b = llama_batch_init(n_ctx_seq_, 0, 1);
  for (const auto& tokens : job.inputs) {
    llama_memory_clear(llama_get_memory(embed_ctx_), true);
    b.n_tokens = 0;
    for (size_t i = 0; i < tokens.size(); ++i) {
      b.token[i] = tokens[i];
      b.pos[i] = static_cast<llama_pos>(i);
      b.n_seq_id[i] = 1;
      b.seq_id[i][0] = 0;
      b.logits[i] = true;
      ++b.n_tokens;
    }
    const float* e = nullptr;
    if (llama_decode(embed_ctx_, b) == 0) e = llama_get_embeddings_seq(embed_ctx_, 0);
    if (!e) {
      llama_batch_free(b);
      job.out->Push(Status::Internal("embedding failed"));
      job.out->Close();
      return;
    }
    double norm = 0;
    for (int i = 0; i < n_embd; ++i) norm += double(e[i]) * e[i];
    norm = norm > 0 ? std::sqrt(norm) : 1.0;
    std::vector<float> v(n_embd);
    for (int i = 0; i < n_embd; ++i) v[i] = static_cast<float>(e[i] / norm);
    result.vectors.push_back(std::move(v));
    result.prompt_tokens += static_cast<int>(tokens.size());
  }
  llama_batch_free(b);
  job.out->Push(std::move(result));
  job.out->Close();
}

}  // namespace lingxi::engine::llama
