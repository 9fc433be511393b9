// WriteTestModel: a tiny, deterministic llama-architecture GGUF that llama.cpp loads and runs.
// It has a real byte-level BPE tokenizer (merges learned from a built-in English text), a
// ChatML chat template and seeded random weights, so its answers are noise but reproducible:
// the same options always give a byte-identical file. Tests and `make run`'s demo use the
// default shape (about 0.6 MB); benchmarks ask for the shape of a real small model to measure
// compute. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace lingxi::engine::llama {

// Bumped whenever the generator's output changes, so cached demo models are remade.
constexpr int kTestModelGeneration = 2;

struct TestModelOptions {
  int n_layer = 2;
  int n_embd = 64;     // divisible by n_head
  int n_head = 4;      // divisible by n_head_kv
  int n_head_kv = 2;
  int n_ff = 128;
  int n_vocab = 512;   // >= 259 (256 bytes + 3 special tokens)
  int n_ctx_train = 4096;
  std::string type = "f32";  // f32 | f16 | q8_0 (rows multiple of 32) | q4_k (rows multiple of 256)
  uint64_t seed = 42;
  std::string name = "lingxi-test";
};

// InvalidArgument names the bad option; Internal when the file cannot be written.
Status WriteTestModel(const TestModelOptions& options, const std::string& path);

// A LoRA adapter (rank `rank`, on every layer's attn_q and ffn_up) for the model that
// `options` describe, with seeded weights strong enough to change its answers.
Status WriteTestLora(const TestModelOptions& options, int rank, uint64_t seed, const std::string& path);

}  // namespace lingxi::engine::llama
