#include "engine/llama/test_model.h"

#include <ggml.h>
#include <gguf.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "engine/llama/test_model_tokenizer.h"

namespace lingxi::engine::llama {
namespace {

// splitmix64: tiny, seedable, identical on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Approximately normal (Irwin-Hall of 4 uniforms), mean 0, std 1.
  float Normal() {
    double sum = 0;
    for (int i = 0; i < 4; ++i) sum += static_cast<double>(Next() >> 11) / 9007199254740992.0;
    return static_cast<float>((sum - 2.0) * std::sqrt(3.0));
  }

 private:
  uint64_t s_;
};

struct TypeInfo {
  ggml_type type;
  int block;       // row length must be a multiple of this
  int file_type;   // general.file_type (llama_ftype)
};

bool LookupType(const std::string& name, TypeInfo& out) {
  static const std::map<std::string, TypeInfo> types = {
      {"f32", {GGML_TYPE_F32, 1, 0}},
      {"f16", {GGML_TYPE_F16, 1, 1}},
      {"q8_0", {GGML_TYPE_Q8_0, 32, 7}},
      {"q4_k", {GGML_TYPE_Q4_K, 256, 15}},
  };
  auto it = types.find(name);
  if (it == types.end()) return false;
  out = it->second;
  return true;
}

Status Validate(const TestModelOptions& o, const TypeInfo& t) {
  auto bad = [](const char* option, std::string why) { return Status::InvalidArgument(std::string(option) + ": " + why); };
  if (o.n_layer < 1 || o.n_layer > 512) return bad("n_layer", "must be between 1 and 512");
  if (o.n_head < 1 || o.n_head_kv < 1) return bad("n_head", "heads must be at least 1");
  if (o.n_embd < 1 || o.n_embd % o.n_head != 0) return bad("n_embd", fmt::format("{} is not divisible by n_head {}", o.n_embd, o.n_head));
  if ((o.n_embd / o.n_head) % 2 != 0) return bad("n_embd", "head size (n_embd / n_head) must be even for RoPE");
  if (o.n_head % o.n_head_kv != 0) return bad("n_head_kv", fmt::format("n_head {} is not divisible by {}", o.n_head, o.n_head_kv));
  if (o.n_ff < 1) return bad("n_ff", "must be at least 1");
  if (o.n_vocab < kMinVocab) return bad("n_vocab", fmt::format("must be at least {}", kMinVocab));
  if (o.n_ctx_train < 16) return bad("n_ctx_train", "must be at least 16");
  if (o.n_embd % t.block != 0) return bad("n_embd", fmt::format("{} must be a multiple of {} for {}", o.n_embd, t.block, o.type));
  if (o.n_ff % t.block != 0) return bad("n_ff", fmt::format("{} must be a multiple of {} for {}", o.n_ff, t.block, o.type));
  return Status::Ok();
}

// Writes tensors with the requested type; norms stay F32 as llama.cpp expects.
class TensorWriter {
 public:
  TensorWriter(gguf_context* gguf, ggml_type type, uint64_t seed) : gguf_(gguf), type_(type), rng_(seed) {
    ggml_init_params p{static_cast<size_t>(4) << 20, nullptr, /*no_alloc=*/true};
    meta_ = ggml_init(p);
  }
  ~TensorWriter() { ggml_free(meta_); }

  // A [cols, rows] matrix (ggml order: ne0 = cols) of N(0, std) values; rows marked in
  // `zero_rows` are all zeros.
  void Matrix(const std::string& name, int64_t cols, int64_t rows, float std,
              const std::vector<bool>& zero_rows = {}) {
    std::vector<float> values(static_cast<size_t>(cols * rows));
    for (auto& v : values) v = rng_.Normal() * std;
    for (size_t r = 0; r < zero_rows.size(); ++r)
      if (zero_rows[r]) std::fill_n(values.begin() + static_cast<int64_t>(r) * cols, cols, 0.0f);
    Add(name, type_, cols, rows, values);
  }
  void Norm(const std::string& name, int64_t n) {
    std::vector<float> ones(static_cast<size_t>(n), 1.0f);
    Add(name, GGML_TYPE_F32, n, 1, ones);
  }

 private:
  void Add(const std::string& name, ggml_type type, int64_t cols, int64_t rows, const std::vector<float>& values) {
    ggml_tensor* t = rows == 1 && type == GGML_TYPE_F32 ? ggml_new_tensor_1d(meta_, type, cols)
                                                        : ggml_new_tensor_2d(meta_, type, cols, rows);
    ggml_set_name(t, name.c_str());
    auto& data = buffers_.emplace_back(ggml_row_size(type, cols) * rows);
    if (type == GGML_TYPE_F32) {
      std::memcpy(data.data(), values.data(), data.size());
    } else if (type == GGML_TYPE_F16) {
      ggml_fp32_to_fp16_row(values.data(), reinterpret_cast<ggml_fp16_t*>(data.data()), cols * rows);
    } else {
      ggml_quantize_chunk(type, values.data(), data.data(), 0, rows, cols, nullptr);
    }
    gguf_add_tensor(gguf_, t);
    gguf_set_tensor_data(gguf_, name.c_str(), data.data());
  }

  gguf_context* gguf_;
  ggml_type type_;
  Rng rng_;
  ggml_context* meta_;
  std::vector<std::vector<uint8_t>> buffers_;  // tensor data until the file is written
};

constexpr const char* kChatTemplate =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
    "'\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

}  // namespace

Status WriteTestModel(const TestModelOptions& o, const std::string& path) {
  TypeInfo type;
  if (!LookupType(o.type, type)) return Status::InvalidArgument("type: expected f32, f16, q8_0 or q4_k, got \"" + o.type + "\"");
  if (Status s = Validate(o, type); !s.ok()) return s;

  std::unique_ptr<gguf_context, decltype(&gguf_free)> gguf(gguf_init_empty(), gguf_free);
  gguf_context* g = gguf.get();
  const int head_dim = o.n_embd / o.n_head;
  gguf_set_val_str(g, "general.architecture", "llama");
  gguf_set_val_str(g, "general.name", o.name.c_str());
  gguf_set_val_u32(g, "general.file_type", static_cast<uint32_t>(type.file_type));
  gguf_set_val_u32(g, "general.quantization_version", 2);
  gguf_set_val_u32(g, "llama.context_length", static_cast<uint32_t>(o.n_ctx_train));
  gguf_set_val_u32(g, "llama.embedding_length", static_cast<uint32_t>(o.n_embd));
  gguf_set_val_u32(g, "llama.block_count", static_cast<uint32_t>(o.n_layer));
  gguf_set_val_u32(g, "llama.feed_forward_length", static_cast<uint32_t>(o.n_ff));
  gguf_set_val_u32(g, "llama.attention.head_count", static_cast<uint32_t>(o.n_head));
  gguf_set_val_u32(g, "llama.attention.head_count_kv", static_cast<uint32_t>(o.n_head_kv));
  gguf_set_val_u32(g, "llama.rope.dimension_count", static_cast<uint32_t>(head_dim));
  gguf_set_val_f32(g, "llama.rope.freq_base", 10000.0f);
  gguf_set_val_f32(g, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
  gguf_set_val_u32(g, "llama.vocab_size", static_cast<uint32_t>(o.n_vocab));

  Vocabulary vocab = BuildVocabulary(o.n_vocab);
  std::vector<const char*> tokens, merges;
  for (const auto& t : vocab.tokens) tokens.push_back(t.c_str());
  for (const auto& m : vocab.merges) merges.push_back(m.c_str());
  gguf_set_val_str(g, "tokenizer.ggml.model", "gpt2");
  gguf_set_val_str(g, "tokenizer.ggml.pre", "default");
  gguf_set_arr_str(g, "tokenizer.ggml.tokens", tokens.data(), tokens.size());
  gguf_set_arr_data(g, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, vocab.types.data(), vocab.types.size());
  gguf_set_arr_str(g, "tokenizer.ggml.merges", merges.data(), merges.size());
  gguf_set_val_u32(g, "tokenizer.ggml.bos_token_id", static_cast<uint32_t>(vocab.endoftext));
  gguf_set_val_u32(g, "tokenizer.ggml.eos_token_id", static_cast<uint32_t>(vocab.im_end));
  gguf_set_val_u32(g, "tokenizer.ggml.eot_token_id", static_cast<uint32_t>(vocab.im_end));
  gguf_set_val_u32(g, "tokenizer.ggml.padding_token_id", static_cast<uint32_t>(vocab.endoftext));
  gguf_set_val_bool(g, "tokenizer.ggml.add_bos_token", false);
  gguf_set_val_str(g, "tokenizer.chat_template", kChatTemplate);

  // Weights: small for the blocks; a strong output projection and embedding so greedy
  // decoding depends on the context instead of settling on one token.
  TensorWriter w(g, type.type, o.seed);
  const int kv = head_dim * o.n_head_kv;
  w.Matrix("token_embd.weight", o.n_embd, o.n_vocab, 1.0f);
  for (int i = 0; i < o.n_layer; ++i) {
    auto n = [i](const char* t) { return fmt::format("blk.{}.{}.weight", i, t); };
    w.Norm(n("attn_norm"), o.n_embd);
    w.Matrix(n("attn_q"), o.n_embd, o.n_embd, 0.3f);
    w.Matrix(n("attn_k"), o.n_embd, kv, 0.3f);
    w.Matrix(n("attn_v"), o.n_embd, kv, 0.3f);
    w.Matrix(n("attn_output"), o.n_embd, o.n_embd, 0.1f);
    w.Norm(n("ffn_norm"), o.n_embd);
    w.Matrix(n("ffn_gate"), o.n_embd, o.n_ff, 0.1f);
    w.Matrix(n("ffn_up"), o.n_embd, o.n_ff, 0.1f);
    w.Matrix(n("ffn_down"), o.n_ff, o.n_embd, 0.1f);
  }
  w.Norm("output_norm.weight", o.n_embd);
  // Zero logits for single-byte tokens that are not printable ASCII and for control tokens:
  // among hundreds of random positive logits they are (almost) never the greedy pick, so the
  // answers are printable text that any client, and llama-server's output parser, accepts.
  std::vector<bool> quiet(static_cast<size_t>(o.n_vocab), false);
  for (int b = 0; b < 256; ++b) quiet[b] = b < 0x20 || b >= 0x7F;
  for (int t : {vocab.endoftext, vocab.im_start, vocab.im_end}) quiet[t] = true;
  w.Matrix("output.weight", o.n_embd, o.n_vocab, 0.5f, quiet);

  if (!gguf_write_to_file(g, path.c_str(), false)) return Status::Internal(path + ": cannot write the model file");
  return Status::Ok();
}

Status WriteTestLora(const TestModelOptions& o, int rank, uint64_t seed, const std::string& path) {
  TypeInfo type;
  if (!LookupType(o.type, type)) return Status::InvalidArgument("type: expected f32, f16, q8_0 or q4_k, got \"" + o.type + "\"");
  if (Status s = Validate(o, type); !s.ok()) return s;
  if (rank < 1 || rank > o.n_embd) return Status::InvalidArgument("rank: must be between 1 and n_embd");
  std::unique_ptr<gguf_context, decltype(&gguf_free)> gguf(gguf_init_empty(), gguf_free);
  gguf_context* g = gguf.get();
  gguf_set_val_str(g, "general.type", "adapter");
  gguf_set_val_str(g, "general.architecture", "llama");
  gguf_set_val_str(g, "general.name", (o.name + "-lora").c_str());
  gguf_set_val_str(g, "adapter.type", "lora");
  gguf_set_val_f32(g, "adapter.lora.alpha", static_cast<float>(rank));
  // W is [in, out]; llama.cpp wants lora_a [in, rank] and lora_b [rank, out].
  TensorWriter w(g, GGML_TYPE_F32, seed);
  for (int i = 0; i < o.n_layer; ++i) {
    for (auto [tensor, out] : {std::pair{"attn_q", o.n_embd}, std::pair{"ffn_up", o.n_ff}}) {
      std::string base = fmt::format("blk.{}.{}.weight", i, tensor);
      w.Matrix(base + ".lora_a", o.n_embd, rank, 0.5f);
      w.Matrix(base + ".lora_b", rank, out, 0.5f);
    }
  }
  if (!gguf_write_to_file(g, path.c_str(), false)) return Status::Internal(path + ": cannot write the adapter file");
  return Status::Ok();
}

}  // namespace lingxi::engine::llama
