// LlamaEngine: a GGUF model run in process with llama.cpp.
//
// Loading happens in stages (base model, LoRA adapters, context), each reported to
// Readiness and as metrics. Serving: one inference thread owns the llama_context and runs a
// continuous-batching loop over `parallel` sequence slots: every llama_decode advances all
// generating sequences by one token and spends the rest of its `batch` budget on prompt
// chunks of newly admitted requests, so long prompts never stall running streams. A finished
// sequence keeps its KV cache; the next request goes to the slot sharing its longest prompt
// prefix, so a chat's next turn only processes the new messages.
//
// Thread-safe (see engine/engine.h). Create() blocks while loading.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/readiness.h"
#include "core/status.h"
#include "engine/engine.h"
#include "metrics/registry.h"

namespace lingxi::engine::llama {

struct LoraAdapter {
  std::string path;   // GGUF LoRA adapter
  float scale = 1.0f;
};

struct LlamaEngineOptions {
  std::string model_path;              // GGUF file; required
  std::string id;                      // served model id; empty = the file's stem
  std::vector<LoraAdapter> adapters;   // applied in order after the base model
  std::string chat_template;           // Jinja override; empty = tokenizer.chat_template
  int parallel = 8;                    // sequences decoded together. >= 1
  int context = 4096;                  // tokens per sequence; 0 = the model's training context
  int batch = 512;                     // tokens per decode step (prompt chunk budget). >= 1
  int queue = 64;                      // requests waiting for a slot; beyond that Submit -> 503
  int threads = 0;                     // CPU threads; 0 = all cores
  int gpu_layers = 0;                  // layers offloaded to the GPU; -1 = all
  bool embeddings = true;              // serve Embed() from a second, pooled context
};

// The id a model is served under: options.id, or the model file's stem.
std::string ModelIdFor(const LlamaEngineOptions& options);

// Loads the model. Errors name the file and what is wrong. Stages and a failure go to
// `progress`; marking it ready is the caller's, once the engine is reachable by requests.
Result<std::unique_ptr<Engine>> CreateLlamaEngine(const LlamaEngineOptions& options,
                                                  Readiness::Component progress, metrics::Metrics& metrics);

// Silences or routes llama.cpp's own logging to ours (warnings and errors only). Call once.
void InstallLlamaLogging();

}  // namespace lingxi::engine::llama
