// Internal to engine/llama: the LlamaEngine class shared by llama_engine.cpp (loading and
// request intake) and scheduler.cpp (the continuous-batching loop). Not a public contract.
#pragma once

#include <llama.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/llama/chat_template.h"
#include "engine/llama/engine_metrics.h"
#include "engine/llama/llama_engine.h"
#include "engine/llama/sampling.h"
#include "engine/llama/stop_matcher.h"

namespace lingxi::engine::llama {

using Clock = std::chrono::steady_clock;

inline double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
inline double Millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// A request between Submit() and its last chunk. Built on the submitting thread so that bad
// requests fail before anything is queued.
struct Job {
  std::shared_ptr<MailboxStream> out;
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

  Status Load(Readiness::Component component);

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

}  // namespace lingxi::engine::llama
