// The embedded engine with the generated test model: determinism, continuous batching,
// cancellation, the queue bound, prefix reuse, constrained output, stops and embeddings.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <regex>

#include "engine/fixture.h"

namespace lingxi::testing {
namespace {

using engine::FinishReason;

double Sample(const std::string& metrics, const std::string& series) {
  std::smatch m;
  std::regex re(std::regex_replace(series, std::regex(R"([{}.+\[\]()|\\])"), R"(\$&)") + R"( ([0-9.e+-]+))");
  if (!std::regex_search(metrics, m, re)) return -1;
  return std::stod(m[1]);
}

TEST(LlamaEngineTest, GreedyOutputIsDeterministic) {
  EngineFixture f;
  auto a = f.Ask(UserSays("Tell me about lingxi."));
  auto b = f.Ask(UserSays("Tell me about lingxi."));
  EXPECT_FALSE(a.text.empty());
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.last.usage.completion_tokens, 16);
  EXPECT_EQ(a.last.finish, FinishReason::kLength);
}

TEST(LlamaEngineTest, SameSeedSameOutputDifferentSeedDiffers) {
  EngineFixture f;
  auto ask = [&](uint32_t seed) {
    auto r = UserSays("Sample something", 24);
    r.sampling.temperature = 1.0f;
    r.sampling.top_k = 0;
    r.sampling.min_p = 0;
    r.sampling.seed = seed;
    return f.Ask(r).text;
  };
  EXPECT_EQ(ask(7), ask(7));
  EXPECT_NE(ask(7), ask(8));
}

TEST(LlamaEngineTest, EightStreamsAreDecodedTogether) {
  EngineFixture f;
  std::vector<std::shared_ptr<engine::ChunkStream>> streams;
  for (int i = 0; i < 8; ++i) {
    // Long enough that all eight overlap even if submitting them takes a few decode steps.
    auto r = UserSays("Request number " + std::to_string(i), 96);
    r.sampling.ignore_eos = true;
    auto s = f.Submit(std::move(r));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    streams.push_back(*s);
  }
  for (auto& s : streams) {
    auto a = f.Drain(s);
    EXPECT_EQ(a.last.finish, FinishReason::kLength);
    EXPECT_EQ(a.last.usage.completion_tokens, 96);
  }
  std::string m = f.metrics.Serialize();
  double steps = Sample(m, R"(lingxi_engine_batch_sequences_count{model="lingxi-test"})");
  double solo = Sample(m, R"(lingxi_engine_batch_sequences_bucket{model="lingxi-test",le="1"})");
  double up_to_4 = Sample(m, R"(lingxi_engine_batch_sequences_bucket{model="lingxi-test",le="4"})");
  ASSERT_GT(steps, 0);
  EXPECT_LT(up_to_4, steps) << "some decode step must have advanced more than 4 sequences";
  EXPECT_LT(solo, steps / 2) << m;
}

TEST(LlamaEngineTest, CancelledStreamFreesItsSlot) {
  engine::llama::LlamaEngineOptions o;
  o.parallel = 1;
  EngineFixture f(o);
  auto forever = UserSays("Go on forever", 400);
  forever.sampling.ignore_eos = true;  // only the cancel can end it early
  auto long_one = f.Submit(std::move(forever));
  ASSERT_TRUE(long_one.ok());
  (*long_one)->Cancel();
  auto a = f.Drain(*long_one);
  EXPECT_EQ(a.last.finish, FinishReason::kCancelled);
  EXPECT_LT(a.last.usage.completion_tokens, 400);
  // The only slot is free again: the next request is served.
  auto next = f.Ask(UserSays("Next", 4));
  EXPECT_EQ(next.last.finish, FinishReason::kLength);
  EXPECT_NE(f.metrics.Serialize().find(R"(lingxi_engine_active_sequences{model="lingxi-test"} 0)"), std::string::npos);
}

TEST(LlamaEngineTest, FullQueueRefusesWithUnavailable) {
  engine::llama::LlamaEngineOptions o;
  o.parallel = 1;
  o.queue = 1;
  EngineFixture f(o);
  std::vector<std::shared_ptr<engine::ChunkStream>> accepted;
  Status refused;
  for (int i = 0; i < 4 && refused.ok(); ++i) {
    auto r = UserSays("Busy " + std::to_string(i), 300);
    r.sampling.ignore_eos = true;  // holds its slot for all 300 tokens
    auto s = f.Submit(std::move(r));
    if (s.ok()) accepted.push_back(*s);
    else refused = s.status();
  }
  EXPECT_EQ(refused.code(), Status::Code::kUnavailable);
  EXPECT_LE(accepted.size(), 2u);  // one running, one waiting
  for (auto& s : accepted) s->Cancel();
  for (auto& s : accepted) f.Drain(s);
}

TEST(LlamaEngineTest, SecondTurnReusesThePrefix) {
  EngineFixture f;
  auto turn1 = UserSays("Hello there, this is the first turn of a chat.", 12);
  auto a1 = f.Ask(turn1);
  auto turn2 = turn1;
  turn2.messages.push_back(engine::Message::OfText("assistant", a1.text));
  turn2.messages.push_back(engine::Message::OfText("user", "And a second question."));
  auto a2 = f.Ask(turn2);
  EXPECT_GT(a2.last.usage.cached_prompt_tokens, a1.last.usage.prompt_tokens / 2);
  EXPECT_LT(a2.last.timings.prompt_processed, a2.last.usage.prompt_tokens);
  EXPECT_EQ(a2.last.timings.prompt_processed + a2.last.usage.cached_prompt_tokens, a2.last.usage.prompt_tokens);
}

TEST(LlamaEngineTest, JsonSchemaOutputParses) {
  EngineFixture f;
  auto r = UserSays("Answer in JSON", 64);
  r.sampling.json_schema =
      R"({"type":"object","properties":{"ok":{"type":"boolean"},"n":{"type":"integer","minimum":0,"maximum":9}},"required":["ok","n"],"additionalProperties":false})";
  auto a = f.Ask(r);
  auto j = nlohmann::json::parse(a.text, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << a.text;
  EXPECT_TRUE(j["ok"].is_boolean());
  EXPECT_TRUE(j["n"].is_number_integer());
}

TEST(LlamaEngineTest, StopStringEndsTheAnswerBeforeIt) {
  EngineFixture f;
  auto free_run = f.Ask(UserSays("Say something", 24)).text;
  ASSERT_GE(free_run.size(), 6u);
  std::string stop = free_run.substr(free_run.size() / 2, 3);
  auto r = UserSays("Say something", 24);
  r.sampling.stop = {stop};
  auto a = f.Ask(r);
  EXPECT_EQ(a.last.finish, FinishReason::kStop);
  EXPECT_EQ(a.text, free_run.substr(0, free_run.find(stop)));
}

TEST(LlamaEngineTest, BadRequestsFailAtSubmit) {
  engine::llama::LlamaEngineOptions o;
  o.context = 64;
  EngineFixture f(o);
  std::string huge;
  for (int i = 0; i < 200; ++i) huge += "word" + std::to_string(i) + " ";
  auto too_long = f.Submit(UserSays(huge));
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(too_long.status().message().find("context holds " + std::to_string(f.engine->info().context_length)),
            std::string::npos)
      << too_long.status().message();

  auto image = UserSays("look");
  image.messages[0].parts.push_back({engine::ContentPart::Kind::kImage, "data:image/png;base64,AA==", "", ""});
  EXPECT_EQ(f.Submit(image).status().code(), Status::Code::kInvalidArgument);

  auto grammar = UserSays("x");
  grammar.sampling.grammar = "root ::= (";
  EXPECT_EQ(f.Submit(grammar).status().code(), Status::Code::kInvalidArgument);
}

TEST(LlamaEngineTest, EmbeddingsAreNormalizedAndDeterministic) {
  EngineFixture f;
  auto run = [&](std::vector<std::string> inputs) {
    auto r = f.engine->Embed(std::move(inputs), f.io.get_executor());
    EXPECT_TRUE(r.ok());
    auto fut = boost::asio::co_spawn(f.io, [r]() -> http::Task<std::optional<Result<engine::Embedding>>> {
      co_return co_await (*r)->Next();
    }, boost::asio::use_future);
    return *fut.get();
  };
  auto e = run({"first text", "a different second text"});
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  ASSERT_EQ(e->vectors.size(), 2u);
  double norm = 0;
  for (float x : e->vectors[0]) norm += double(x) * x;
  EXPECT_NEAR(norm, 1.0, 1e-4);
  EXPECT_NE(e->vectors[0], e->vectors[1]);
  auto again = run({"first text"});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->vectors[0], e->vectors[0]);
}

TEST(LlamaEngineTest, MissingOrBrokenModelFilesAreNamed) {
  metrics::Metrics m;
  Readiness r;
  engine::llama::LlamaEngineOptions o;
  o.model_path = "/nonexistent/model.gguf";
  auto missing = engine::llama::CreateLlamaEngine(o, r.Register("engine"), m);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "/nonexistent/model.gguf: no such file");

  TempDir dir;
  WriteFile(dir.path() + "/bad.gguf", "this is not a model");
  o.model_path = dir.path() + "/bad.gguf";
  o.id = "bad";
  auto bad = engine::llama::CreateLlamaEngine(o, r.Register("engine"), m);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("bad.gguf: not a GGUF file"), std::string::npos);
  EXPECT_FALSE(r.AllReady());  // the failure is visible in /ready
}

}  // namespace
}  // namespace lingxi::testing

namespace lingxi::testing {
namespace {

TEST(LlamaEngineTemplateTest, ConfiguredTemplateOverridesTheModels) {
  EngineFixture chatml;
  engine::llama::LlamaEngineOptions o;
  o.chat_template = "{% for message in messages %}{{ message['content'] }}{% endfor %}";
  EngineFixture plain(o);
  auto with_model_template = chatml.Ask(UserSays("Hello world", 1));
  auto with_override = plain.Ask(UserSays("Hello world", 1));
  // ChatML wraps the message in <|im_start|>user ... <|im_end|> and opens the assistant turn.
  EXPECT_EQ(with_override.last.usage.prompt_tokens, 3);  // [Hello][ wor][ld]: the bare text
  EXPECT_GT(with_model_template.last.usage.prompt_tokens, with_override.last.usage.prompt_tokens + 4);
}

}  // namespace
}  // namespace lingxi::testing

namespace lingxi::testing {
namespace {

TEST(LlamaEngineAdapterTest, LoraAdapterLoadsInItsStageAndChangesTheAnswer) {
  TempDir dir;
  std::string lora = dir.path() + "/lora.gguf";
  ASSERT_TRUE(engine::llama::WriteTestLora({}, 8, 7, lora).ok());
  EngineFixture base;
  engine::llama::LlamaEngineOptions o;
  o.adapters = {{lora, 1.0f}};
  EngineFixture adapted(o);
  EXPECT_NE(base.Ask(UserSays("Hello", 12)).text, adapted.Ask(UserSays("Hello", 12)).text);
  EXPECT_NE(adapted.metrics.Serialize().find(R"(lingxi_engine_load_stage_seconds{model="lingxi-test",stage="adapters"})"),
            std::string::npos);
}

TEST(LlamaEngineAdapterTest, AFileThatIsNotAnAdapterIsNamed) {
  metrics::Metrics m;
  Readiness r;
  engine::llama::LlamaEngineOptions o;
  o.model_path = TestModelPath();
  o.threads = 1;
  o.adapters = {{TestModelPath(), 1.0f}};  // a model, not an adapter
  auto e = engine::llama::CreateLlamaEngine(o, r.Register("engine"), m);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "adapter: " + TestModelPath() + ": does not fit this model");
  EXPECT_EQ(r.Snapshot()[0].stage, "adapters");
  EXPECT_EQ(r.Snapshot()[0].phase, ComponentState::Phase::kFailed);
}

}  // namespace
}  // namespace lingxi::testing

namespace lingxi::testing {
namespace {

TEST(LlamaEngineSamplingTest, RepeatPenaltyChangesAGreedyAnswer) {
  EngineFixture f;
  auto plain = UserSays("Tell me a story", 48);
  plain.sampling.ignore_eos = true;
  auto penalized = plain;
  penalized.sampling.repeat_penalty = 5.0f;
  penalized.sampling.presence_penalty = 1.5f;
  penalized.sampling.frequency_penalty = 1.5f;
  auto a = f.Ask(plain).text;
  auto b = f.Ask(penalized).text;
  EXPECT_NE(a, b);
  EXPECT_EQ(f.Ask(penalized).text, b);  // still deterministic
}

}  // namespace
}  // namespace lingxi::testing
