// LlamaEngine: loading, request intake, and the continuous-batching loop (see llama_engine.h).
#include "engine/llama/llama_engine.h"

#include <llama.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "core/log.h"
#include "engine/llama/chat_template.h"
#include "engine/llama/engine_metrics.h"
#include "engine/llama/sampling.h"
#include "engine/llama/stop_matcher.h"

namespace lingxi::engine::llama {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// A request between Submit() and its last chunk. Built on the submitting thread so that bad
// requests fail before anything is queued.
struct Job {
  std::shared_ptr<ChunkStream> out;
  std::vector<llama_token> prompt;
  SamplerPtr sampler;
  std::vector<std::string> stops;
  int max_tokens = 0;
  Clock::time_point submitted;
};

struct EmbedJob {
  std::vector<std::vector<llama_token>> inputs;
  std::shared_ptr<EmbeddingResult> out;
};

// One sequence of the context. Touched only by the inference thread.
struct Slot {
  llama_seq_id seq = 0;
  std::unique_ptr<Job> job;         // null when idle
  std::vector<llama_token> cache;   // tokens whose KV is held in `seq` (kept after a request)
  size_t prompt_done = 0;           // prompt tokens in the KV cache
  size_t prompt_cached = 0;         // of those, reused from an earlier request
  StopMatcher stop;
  int generated = 0;
  bool generating = false;
  llama_token next = 0;             // sampled, to be decoded in the next step
  int32_t logits_index = -1;        // row of this step's batch whose logits we sample
  Clock::time_point admitted, first_token, last_token;
  uint64_t last_used = 0;
};

size_t CommonPrefix(const std::vector<llama_token>& a, const std::vector<llama_token>& b) {
  size_t n = std::min(a.size(), b.size()), i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

Status CheckGgufFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Status::InvalidArgument(path + ": no such file");
  if (std::filesystem::is_directory(path, ec)) return Status::InvalidArgument(path + ": is a directory, not a GGUF file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(path + ": cannot open: " + std::strerror(errno));
  char magic[4] = {};
  in.read(magic, 4);
  if (in.gcount() != 4 || std::memcmp(magic, "GGUF", 4) != 0)
    return Status::InvalidArgument(path + ": not a GGUF file (it does not start with the GGUF magic bytes)");
  return Status::Ok();
}

class LlamaEngine final : public Engine {
 public:
  LlamaEngine(LlamaEngineOptions opt, metrics::Metrics& m, std::string id)
      : opt_(std::move(opt)), metrics_(m, id) {
    info_.id = std::move(id);
  }

  ~LlamaEngine() override {
    Stop();
    if (embed_ctx_) llama_free(embed_ctx_);
    if (batch_.token) llama_batch_free(batch_);
    if (ctx_) llama_free(ctx_);
    if (model_) llama_model_free(model_);
  }

  Status Load(Readiness& readiness);

  EngineInfo info() const override { return info_; }

  Result<std::shared_ptr<ChunkStream>> Submit(ChatRequest request, boost::asio::any_io_executor ex) override;
  Result<std::shared_ptr<EmbeddingResult>> Embed(std::vector<std::string> inputs,
                                                 boost::asio::any_io_executor ex) override;

  void Stop() override {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::vector<llama_token> Tokenize(const std::string& text) const {
    int n = -llama_tokenize(vocab_, text.data(), static_cast<int32_t>(text.size()), nullptr, 0, true, true);
    std::vector<llama_token> tokens(std::max(n, 0));
    if (n > 0) llama_tokenize(vocab_, text.data(), static_cast<int32_t>(text.size()), tokens.data(), n, true, true);
    return tokens;
  }
  std::string Piece(llama_token t) const {
    char buf[256];
    int n = llama_token_to_piece(vocab_, t, buf, sizeof buf, 0, false);
    if (n >= 0) return std::string(buf, n);
    std::string big(-n, '\0');
    llama_token_to_piece(vocab_, t, big.data(), -n, 0, false);
    return big;
  }

  void Loop();
  void Admit(std::unique_ptr<Job> job);
  void Step();
  void Finish(Slot& s, FinishReason reason, Status error = Status::Ok());
  void RunEmbed(EmbedJob& job);
  void UpdateKvMetric();

  LlamaEngineOptions opt_;  // constant after construction
  EngineMetrics metrics_;
  EngineInfo info_;         // constant after Load()
  llama_model* model_ = nullptr;
  llama_context* ctx_ = nullptr;
  llama_context* embed_ctx_ = nullptr;  // inference thread; made on first Embed
  const llama_vocab* vocab_ = nullptr;
  std::vector<llama_adapter_lora*> adapters_;
  std::vector<float> adapter_scales_;
  std::unique_ptr<ChatTemplate> template_;
  std::vector<llama_token> eog_;  // end-of-generation tokens; constant after Load()
  int n_ctx_seq_ = 0;

  // Inference thread only.
  std::vector<Slot> slots_;
  llama_batch batch_{};
  uint64_t use_counter_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Job>> waiting_;  // guarded by mu_
  std::deque<EmbedJob> embed_jobs_;           // guarded by mu_
  bool stop_ = false;                         // guarded by mu_
  int active_ = 0;  // slots holding a request, counted from admission; guarded by mu_
  std::thread thread_;
};

Status LlamaEngine::Load(Readiness& readiness) {
  auto component = readiness.Register("engine:" + info_.id);
  auto fail = [&](Status s) {
    component.Failed(s.message());
    return s;
  };
  auto stage_start = Clock::now();
  auto stage_done = [&](const char* stage) {
    metrics_.load_stage_seconds.Add({{"model", info_.id}, {"stage", stage}}).Set(Seconds(Clock::now() - stage_start));
    stage_start = Clock::now();
  };

  // Stage 1: the base model (mmap'd).
  component.Stage("base model", 0.0);
  if (Status s = CheckGgufFile(opt_.model_path); !s.ok()) return fail(s);
  struct Progress {
    Readiness::Component* component;
    EngineMetrics* metrics;
  } progress{&component, &metrics_};
  auto mparams = llama_model_default_params();
  mparams.n_gpu_layers = opt_.gpu_layers;
  mparams.progress_callback = [](float p, void* data) {
    auto* pr = static_cast<Progress*>(data);
    pr->component->Stage("base model", 0.8 * p);
    pr->metrics->load_progress.Set(0.8 * p);
    return true;
  };
  mparams.progress_callback_user_data = &progress;
  model_ = llama_model_load_from_file(opt_.model_path.c_str(), mparams);
  if (!model_)
    return fail(Status::InvalidArgument(opt_.model_path +
                                        ": llama.cpp could not load this GGUF (unsupported architecture, "
                                        "truncated file or missing tensors; its log above says which)"));
  vocab_ = llama_model_get_vocab(model_);
  for (llama_token t = 0; t < llama_vocab_n_tokens(vocab_); ++t)
    if (llama_vocab_is_eog(vocab_, t)) eog_.push_back(t);
  stage_done("base model");

  // Stage 2: LoRA adapters, in order.
  component.Stage("adapters", 0.85);
  for (const auto& a : opt_.adapters) {
    if (Status s = CheckGgufFile(a.path); !s.ok()) return fail(s.WithContext("adapter"));
    llama_adapter_lora* lora = llama_adapter_lora_init(model_, a.path.c_str());
    if (!lora) return fail(Status::InvalidArgument("adapter: " + a.path + ": does not fit this model"));
    adapters_.push_back(lora);
    adapter_scales_.push_back(a.scale);
  }
  stage_done("adapters");

  // Stage 3: the context with `parallel` sequences, and the chat template.
  component.Stage("context", 0.9);
  int train = llama_model_n_ctx_train(model_);
  int per_seq = opt_.context > 0 ? opt_.context : train;
  auto cparams = llama_context_default_params();
  cparams.n_ctx = static_cast<uint32_t>(per_seq * opt_.parallel);
  cparams.n_batch = static_cast<uint32_t>(opt_.batch);
  cparams.n_ubatch = static_cast<uint32_t>(std::min(opt_.batch, 512));
  cparams.n_seq_max = static_cast<uint32_t>(opt_.parallel);
  int threads = opt_.threads > 0 ? opt_.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cparams.n_threads = threads;
  cparams.n_threads_batch = threads;
  cparams.kv_unified = false;  // each sequence owns n_ctx / parallel cells
  ctx_ = llama_init_from_model(model_, cparams);
  if (!ctx_) return fail(Status::InvalidArgument(opt_.model_path + ": cannot create a context of " +
                                                 std::to_string(cparams.n_ctx) + " tokens (out of memory?)"));
  if (!adapters_.empty() &&
      llama_set_adapters_lora(ctx_, adapters_.data(), adapters_.size(), adapter_scales_.data()) != 0)
    return fail(Status::InvalidArgument("adapters: cannot apply to the context"));
  n_ctx_seq_ = static_cast<int>(llama_n_ctx_seq(ctx_));
  auto tmpl = ChatTemplate::Create(model_, opt_.chat_template);
  if (!tmpl.ok()) return fail(tmpl.status().WithContext(opt_.model_path));
  template_ = std::move(*tmpl);
  batch_ = llama_batch_init(opt_.batch, 0, 1);
  slots_.resize(opt_.parallel);
  for (int i = 0; i < opt_.parallel; ++i) slots_[i].seq = i;
  stage_done("context");

  info_.created = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
  info_.context_length = n_ctx_seq_;
  info_.parallel = opt_.parallel;
  info_.embeddings = opt_.embeddings;
  thread_ = std::thread([this] { Loop(); });
  metrics_.load_progress.Set(1);
  component.Ready();
  LogInfo("model loaded", {{"model", info_.id},
                           {"path", opt_.model_path},
                           {"context_per_sequence", std::to_string(n_ctx_seq_), true},
                           {"parallel", std::to_string(opt_.parallel), true},
                           {"threads", std::to_string(threads), true},
                           {"adapters", std::to_string(adapters_.size()), true}});
  return Status::Ok();
}

Result<std::shared_ptr<ChunkStream>> LlamaEngine::Submit(ChatRequest request, boost::asio::any_io_executor ex) {
  auto job = std::make_unique<Job>();
  job->submitted = Clock::now();
  for (const auto& m : request.messages)
    for (const auto& part : m.parts)
      if (part.kind != ContentPart::Kind::kText)
        return Status::InvalidArgument("model " + info_.id + " takes text only; it has no multimodal projector (--mmproj)");
  std::string text;
  if (request.prompt) {
    text = *request.prompt;
  } else {
    auto applied = template_->Apply(request.messages);
    if (!applied.ok()) return applied.status();
    text = std::move(*applied);
  }
  job->prompt = Tokenize(text);
  if (job->prompt.empty()) return Status::InvalidArgument("the prompt is empty");
  if (static_cast<int>(job->prompt.size()) >= n_ctx_seq_)
    return Status::InvalidArgument(fmt::format("the prompt is {} tokens; this model's context holds {} per request",
                                               job->prompt.size(), n_ctx_seq_));
  int room = n_ctx_seq_ - static_cast<int>(job->prompt.size());
  job->max_tokens = request.sampling.max_tokens < 0 ? room : std::min(request.sampling.max_tokens, room);
  auto sampler = MakeSampler(request.sampling, vocab_, eog_);
  if (!sampler.ok()) return sampler.status();
  job->sampler = std::move(*sampler);
  job->stops = request.sampling.stop;
  job->out = std::make_shared<ChunkStream>(std::move(ex));
  auto out = job->out;
  {
    std::lock_guard lock(mu_);
    if (stop_) return Status::Unavailable("the engine is shutting down");
    // Capacity is `parallel` running plus `queue` waiting.
    if (static_cast<int>(waiting_.size()) + active_ >= opt_.parallel + opt_.queue)
      return Status::Unavailable(fmt::format("model {} is busy: {} requests running, {} waiting; retry shortly",
                                             info_.id, active_, waiting_.size()));
    waiting_.push_back(std::move(job));
    metrics_.queue_length.Set(static_cast<double>(waiting_.size()));
  }
  cv_.notify_one();
  return out;
}

Result<std::shared_ptr<EmbeddingResult>> LlamaEngine::Embed(std::vector<std::string> inputs,
                                                            boost::asio::any_io_executor ex) {
  if (!opt_.embeddings) return Status::InvalidArgument("model " + info_.id + " does not serve embeddings");
  EmbedJob job;
  for (size_t i = 0; i < inputs.size(); ++i) {
    auto tokens = Tokenize(inputs[i]);
    if (tokens.empty()) return Status::InvalidArgument(fmt::format("input[{}] is empty", i));
    if (static_cast<int>(tokens.size()) > n_ctx_seq_)
      return Status::InvalidArgument(
          fmt::format("input[{}] is {} tokens; this model embeds at most {}", i, tokens.size(), n_ctx_seq_));
    job.inputs.push_back(std::move(tokens));
  }
  job.out = std::make_shared<EmbeddingResult>(std::move(ex));
  auto out = job.out;
  {
    std::lock_guard lock(mu_);
    if (stop_) return Status::Unavailable("the engine is shutting down");
    embed_jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
  return out;
}

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
  s.job->out->Push(std::move(c));
  s.job->out->Close();

  metrics_.requests.Add({{"model", info_.id}, {"finish", FinishReasonName(reason)}}).Increment();
  metrics_.prompt_tokens.Increment(static_cast<double>(s.job->prompt.size()));
  metrics_.prompt_tokens_cached.Increment(static_cast<double>(s.prompt_cached));
  // A cancelled prompt may be half in the cache: `cache` lists exactly what was decoded.
  s.job.reset();
  s.generating = false;
  s.logits_index = -1;
  s.last_used = ++use_counter_;
  std::lock_guard lock(mu_);
  --active_;
  metrics_.active_sequences.Set(active_);
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

}  // namespace

std::string ModelIdFor(const LlamaEngineOptions& options) {
  return options.id.empty() ? std::filesystem::path(options.model_path).stem().string() : options.id;
}

Result<std::unique_ptr<Engine>> CreateLlamaEngine(const LlamaEngineOptions& options, Readiness& readiness,
                                                  metrics::Metrics& metrics) {
  if (options.parallel < 1) return Status::InvalidArgument("engine.parallel: must be at least 1");
  if (options.batch < 1) return Status::InvalidArgument("engine.batch: must be at least 1");
  auto engine = std::make_unique<LlamaEngine>(options, metrics, ModelIdFor(options));
  if (Status s = engine->Load(readiness); !s.ok()) return s;
  return std::unique_ptr<Engine>(std::move(engine));
}

void InstallLlamaLogging() {
  llama_log_set(
      [](ggml_log_level level, const char* text, void*) {
        if (level != GGML_LOG_LEVEL_WARN && level != GGML_LOG_LEVEL_ERROR) return;
        std::string_view msg(text);
        while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.remove_suffix(1);
        if (msg.empty()) return;
        LogEvent(level == GGML_LOG_LEVEL_ERROR ? spdlog::level::err : spdlog::level::warn, "llama.cpp",
                 {{"detail", std::string(msg)}});
      },
      nullptr);
}

}  // namespace lingxi::engine::llama
