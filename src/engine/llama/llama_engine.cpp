// LlamaEngine: staged loading and request intake (see llama_engine.h); the decode loop is in
// scheduler.cpp.
#include "engine/llama/llama_engine.h"

#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "core/log.h"
#include "engine/llama/llama_engine_impl.h"

namespace lingxi::engine::llama {
namespace {

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

}  // namespace

Status LlamaEngine::Load(Readiness::Component component) {
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
  if (!request.tools.empty())
    return Status::InvalidArgument("model " + info_.id + " does not call tools (tools are served by upstream models)");
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
  job->out = std::make_shared<MailboxStream>(std::move(ex));
  std::shared_ptr<ChunkStream> out = job->out;
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

std::string ModelIdFor(const LlamaEngineOptions& options) {
  return options.id.empty() ? std::filesystem::path(options.model_path).stem().string() : options.id;
}

Result<std::unique_ptr<Engine>> CreateLlamaEngine(const LlamaEngineOptions& options,
                                                  Readiness::Component progress, metrics::Metrics& metrics) {
  Status bad;
  if (options.parallel < 1) bad = Status::InvalidArgument("engine.parallel: must be at least 1");
  if (options.batch < 1) bad = Status::InvalidArgument("engine.batch: must be at least 1");
  if (!bad.ok()) {
    progress.Failed(bad.message());
    return bad;
  }
  auto engine = std::make_unique<LlamaEngine>(options, metrics, ModelIdFor(options));
  if (Status s = engine->Load(progress); !s.ok()) return s;
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
