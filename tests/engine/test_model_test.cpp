// WriteTestModel against the real llama.cpp C API: the file is reproducible, loads with the shape
// asked for, its byte-level BPE tokenizer round-trips text with real merges, its template is
// ChatML, greedy decoding is reproducible and varied, and bad options are refused by name.
#include <gtest/gtest.h>
#include <llama.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/llama/test_model.h"

namespace lingxi::engine::llama {
namespace {

// A unique file under /tmp, removed when the test ends.
class TempFile {
 public:
  TempFile() {
    char name[] = "/tmp/lingxi-test-model-XXXXXX";
    int fd = mkstemp(name);
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    close(fd);
    path_ = name;
  }
  ~TempFile() { unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct ModelFree {
  void operator()(llama_model* m) const { llama_model_free(m); }
};
struct ContextFree {
  void operator()(llama_context* c) const { llama_free(c); }
};
using ModelPtr = std::unique_ptr<llama_model, ModelFree>;
using ContextPtr = std::unique_ptr<llama_context, ContextFree>;

// Writes a model with `options` and loads it on the CPU; the file lives as long as the model.
struct Loaded {
  TempFile file;
  ModelPtr model;
  const llama_vocab* vocab = nullptr;
};

std::unique_ptr<Loaded> WriteAndLoad(const TestModelOptions& options) {
  auto l = std::make_unique<Loaded>();
  Status s = WriteTestModel(options, l->file.path());
  EXPECT_TRUE(s.ok()) << s.ToString();
  llama_model_params params = llama_model_default_params();
  params.n_gpu_layers = 0;
  l->model.reset(llama_model_load_from_file(l->file.path().c_str(), params));
  if (l->model) l->vocab = llama_model_get_vocab(l->model.get());
  return l;
}

std::vector<llama_token> Tokenize(const llama_vocab* vocab, const std::string& text, bool special = false) {
  std::vector<llama_token> tokens(text.size() + 8);
  int n = llama_tokenize(vocab, text.data(), static_cast<int32_t>(text.size()), tokens.data(),
                         static_cast<int32_t>(tokens.size()), /*add_special=*/false, special);
  tokens.resize(n < 0 ? 0 : n);
  return tokens;
}

std::string Detokenize(const llama_vocab* vocab, const std::vector<llama_token>& tokens) {
  std::string text(tokens.size() * 32 + 16, '\0');
  int n = llama_detokenize(vocab, tokens.data(), static_cast<int32_t>(tokens.size()), text.data(),
                           static_cast<int32_t>(text.size()), false, false);
  text.resize(n < 0 ? 0 : n);
  return text;
}

// Decodes `prompt` in a fresh 256-token context, then picks the most likely token n times.
std::vector<llama_token> GreedyGenerate(llama_model* model, std::vector<llama_token> prompt, int n) {
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = 256;
  cp.n_batch = 256;
  cp.n_threads = cp.n_threads_batch = 1;  // tiny model; a second thread only waits on a busy CI box
  ContextPtr ctx(llama_init_from_model(model, cp));
  if (!ctx) return {};
  const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
  std::vector<llama_token> out;
  llama_token next = 0;
  llama_batch batch = llama_batch_get_one(prompt.data(), static_cast<int32_t>(prompt.size()));
  for (int i = 0; i < n; ++i) {
    if (llama_decode(ctx.get(), batch) != 0) return out;
    const float* logits = llama_get_logits_ith(ctx.get(), -1);
    next = static_cast<llama_token>(std::max_element(logits, logits + n_vocab) - logits);
    out.push_back(next);
    batch = llama_batch_get_one(&next, 1);
  }
  return out;
}

// The parameter count llama.cpp should report for the llama architecture.
uint64_t ExpectedParams(const TestModelOptions& o) {
  const uint64_t e = o.n_embd, kv = e / o.n_head * o.n_head_kv, ff = o.n_ff, v = o.n_vocab;
  const uint64_t per_layer = 2 * e + 2 * e * e + 2 * e * kv + 3 * e * ff;
  return 2 * v * e + e + o.n_layer * per_layer;
}

class TestModelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    llama_log_set([](ggml_log_level level, const char* text, void*) {
      if (level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
    }, nullptr);
    llama_backend_init();
  }
};

TEST_F(TestModelTest, SameOptionsWriteIdenticalBytesAndSeedsDiffer) {
  TempFile a, b, c;
  TestModelOptions options;
  ASSERT_TRUE(WriteTestModel(options, a.path()).ok());
  ASSERT_TRUE(WriteTestModel(options, b.path()).ok());
  options.seed = 43;
  ASSERT_TRUE(WriteTestModel(options, c.path()).ok());
  std::string bytes = ReadAll(a.path());
  EXPECT_GT(bytes.size(), 100u * 1024);
  EXPECT_EQ(bytes, ReadAll(b.path()));
  EXPECT_NE(bytes, ReadAll(c.path()));
  EXPECT_EQ(bytes.size(), ReadAll(c.path()).size());
}

TEST_F(TestModelTest, LoadsWithTheShapeAskedForInEveryType) {
  TestModelOptions f16;
  f16.type = "f16";
  TestModelOptions q8;
  q8.type = "q8_0";
  q8.n_layer = 3;
  q8.n_vocab = 1000;
  TestModelOptions q4;
  q4.type = "q4_k";
  q4.n_embd = 256;
  q4.n_ff = 512;
  q4.n_head = 8;
  for (const TestModelOptions& o : {TestModelOptions{}, f16, q8, q4}) {
    SCOPED_TRACE(o.type);
    auto l = WriteAndLoad(o);
    ASSERT_NE(l->model, nullptr);
    EXPECT_EQ(llama_model_n_params(l->model.get()), ExpectedParams(o));
    EXPECT_EQ(llama_model_n_embd(l->model.get()), o.n_embd);
    EXPECT_EQ(llama_model_n_layer(l->model.get()), o.n_layer);
    EXPECT_EQ(llama_model_n_head(l->model.get()), o.n_head);
    EXPECT_EQ(llama_model_n_head_kv(l->model.get()), o.n_head_kv);
    EXPECT_EQ(llama_model_n_ctx_train(l->model.get()), o.n_ctx_train);
    EXPECT_EQ(llama_vocab_n_tokens(l->vocab), o.n_vocab);
    EXPECT_EQ(llama_vocab_type(l->vocab), LLAMA_VOCAB_TYPE_BPE);
    char name[64] = {};
    llama_model_meta_val_str(l->model.get(), "general.name", name, sizeof(name));
    EXPECT_STREQ(name, "lingxi-test");
  }
}

TEST_F(TestModelTest, TokenizerRoundTripsTextWithRealMerges) {
  auto l = WriteAndLoad({});
  ASSERT_NE(l->model, nullptr);
  const std::string text = "Hello world, hello lingxi!";
  auto tokens = Tokenize(l->vocab, text);
  ASSERT_FALSE(tokens.empty());
  EXPECT_LT(tokens.size(), text.size());
  EXPECT_EQ(Detokenize(l->vocab, tokens), text);
  // Bytes the built-in text never shows still round-trip through the byte tokens.
  const std::string odd = "naïve 灵犀 \t\n{\"x\": 0x7f}";
  EXPECT_EQ(Detokenize(l->vocab, Tokenize(l->vocab, odd)), odd);
}

TEST_F(TestModelTest, ChatTokensAreControlAndImEndEndsGeneration) {
  auto l = WriteAndLoad({});
  ASSERT_NE(l->model, nullptr);
  auto im_start = Tokenize(l->vocab, "<|im_start|>", /*special=*/true);
  auto im_end = Tokenize(l->vocab, "<|im_end|>", /*special=*/true);
  ASSERT_EQ(im_start.size(), 1u);
  ASSERT_EQ(im_end.size(), 1u);
  EXPECT_TRUE(llama_vocab_is_control(l->vocab, im_start[0]));
  EXPECT_TRUE(llama_vocab_is_eog(l->vocab, im_end[0]));
  EXPECT_FALSE(llama_vocab_is_eog(l->vocab, im_start[0]));
  EXPECT_TRUE(llama_vocab_is_eog(l->vocab, llama_vocab_eos(l->vocab)));
  EXPECT_FALSE(llama_vocab_get_add_bos(l->vocab));
  // Without special parsing the same text is plain bytes, not the control token.
  EXPECT_GT(Tokenize(l->vocab, "<|im_end|>").size(), 1u);
}

TEST_F(TestModelTest, ChatTemplateIsChatML) {
  auto l = WriteAndLoad({});
  ASSERT_NE(l->model, nullptr);
  const char* tmpl = llama_model_chat_template(l->model.get(), nullptr);
  ASSERT_NE(tmpl, nullptr);
  llama_chat_message msg{"user", "Hi there"};
  std::string buf(1024, '\0');
  int n = llama_chat_apply_template(tmpl, &msg, 1, /*add_ass=*/true, buf.data(), static_cast<int32_t>(buf.size()));
  ASSERT_GT(n, 0);
  buf.resize(n);
  EXPECT_NE(buf.find("<|im_start|>user\nHi there<|im_end|>"), std::string::npos) << buf;
  EXPECT_TRUE(buf.ends_with("<|im_start|>assistant\n")) << buf;
}

TEST_F(TestModelTest, GreedyGenerationIsDeterministicAndVaried) {
  auto l = WriteAndLoad({});
  ASSERT_NE(l->model, nullptr);
  auto prompt = Tokenize(l->vocab, "<|im_start|>user\nTell me about lingxi.<|im_end|>\n<|im_start|>assistant\n", true);
  auto first = GreedyGenerate(l->model.get(), prompt, 16);
  auto second = GreedyGenerate(l->model.get(), prompt, 16);
  ASSERT_EQ(first.size(), 16u);
  EXPECT_EQ(first, second);
  EXPECT_GT(std::set<llama_token>(first.begin(), first.end()).size(), 1u);
}

TEST_F(TestModelTest, InvalidOptionsAreRefusedByName) {
  TempFile f;
  auto refuse = [&](TestModelOptions o, const std::string& option) {
    Status s = WriteTestModel(o, f.path());
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << option;
    EXPECT_NE(s.message().find(option), std::string::npos) << s.message();
  };
  TestModelOptions o;
  o.n_head = 3;  // 64 is not divisible by 3
  refuse(o, "n_embd");
  o = {};
  o.n_head_kv = 3;
  refuse(o, "n_head_kv");
  o = {};
  o.type = "q4_k";  // blocks of 256, n_embd is 64
  refuse(o, "n_embd");
  o = {};
  o.n_vocab = 100;
  refuse(o, "n_vocab");
  o = {};
  o.type = "bf17";
  refuse(o, "type");
}

}  // namespace
}  // namespace lingxi::engine::llama
