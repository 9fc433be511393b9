// What lingxi sends to each kind of upstream, and how it reads their answers.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/upstream/openai_wire.h"
#include "engine/upstream/sse.h"

namespace lingxi::testing {
namespace {

using nlohmann::json;
using namespace engine::upstream;
using engine::ChatRequest;
using engine::Message;

ChatRequest Chat(std::string text) {
  ChatRequest r;
  r.model = "kimi";
  r.messages.push_back(Message::OfText("user", std::move(text)));
  return r;
}

json Body(const ChatRequest& r, Flavor f, bool stream = false, std::optional<bool> thinking = std::nullopt,
          std::string extra = "") {
  return json::parse(RenderRequestBody(r, WireOptions{"moonshotai/Kimi-K2.5", f, std::move(extra), thinking}, stream));
}

TEST(UpstreamWireTest, SendsTheUpstreamsModelNameAndOnlySamplingTheClientSet) {
  auto r = Chat("hi");
  r.model = "kimi-alias";
  r.passthrough = {{"temperature", "0.6"}, {"top_p", "0.95"}, {"user", "\"u1\""}};
  auto b = Body(r, Flavor::kMoonshot);
  EXPECT_EQ(b["model"], "moonshotai/Kimi-K2.5");
  EXPECT_EQ(b["messages"][0], json({{"role", "user"}, {"content", "hi"}}));
  EXPECT_DOUBLE_EQ(b["temperature"].get<double>(), 0.6);
  EXPECT_EQ(b["user"], "u1");
  // Defaults lingxi did not change are not sent: the hosted API rejects other values.
  EXPECT_FALSE(b.contains("top_k"));
  EXPECT_FALSE(b.contains("min_p"));
  EXPECT_EQ(b["stream"], false);
  EXPECT_FALSE(b.contains("stream_options"));
}

TEST(UpstreamWireTest, StreamsAskForUsage) {
  auto b = Body(Chat("hi"), Flavor::kVllm, true);
  EXPECT_EQ(b["stream"], true);
  EXPECT_EQ(b["stream_options"]["include_usage"], true);
}

TEST(UpstreamWireTest, ThinkingSwitchTakesEachServersForm) {
  auto r = Chat("hi");
  r.thinking = false;
  EXPECT_EQ(Body(r, Flavor::kMoonshot)["thinking"], json({{"type", "disabled"}}));
  EXPECT_EQ(Body(r, Flavor::kVllm)["chat_template_kwargs"], json({{"thinking", false}, {"enable_thinking", false}}));
  EXPECT_EQ(Body(r, Flavor::kSglang)["chat_template_kwargs"], json({{"thinking", false}}));
  EXPECT_EQ(Body(r, Flavor::kLlamaServer)["chat_template_kwargs"], json({{"enable_thinking", false}}));
  auto openai = Body(r, Flavor::kOpenAI);
  EXPECT_FALSE(openai.contains("thinking"));
  EXPECT_FALSE(openai.contains("chat_template_kwargs"));
  // The configured default applies when the request does not say; the request wins otherwise.
  EXPECT_EQ(Body(Chat("hi"), Flavor::kMoonshot, false, true)["thinking"], json({{"type", "enabled"}}));
  EXPECT_EQ(Body(r, Flavor::kMoonshot, false, true)["thinking"], json({{"type", "disabled"}}));
  EXPECT_FALSE(Body(Chat("hi"), Flavor::kMoonshot).contains("thinking"));
}

TEST(UpstreamWireTest, ToolCallsAndReasoningGoBackVerbatim) {
  ChatRequest r = Chat("weather?");
  Message call;
  call.role = "assistant";
  call.tool_calls = R"([{"id":"functions.get_weather:0","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"北京\"}"}}])";
  r.messages.push_back(call);
  Message result = Message::OfText("tool", "sunny");
  result.tool_call_id = "functions.get_weather:0";
  r.messages.push_back(result);
  r.tools = R"([{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}])";
  auto b = Body(r, Flavor::kMoonshot, false, true);
  const auto& a = b["messages"][1];
  EXPECT_EQ(a["tool_calls"][0]["id"], "functions.get_weather:0");
  EXPECT_EQ(a["tool_calls"][0]["function"]["arguments"], "{\"city\": \"北京\"}");
  EXPECT_TRUE(a["content"].is_null());
  // Thinking mode on the hosted API: the reasoning must come back, even empty.
  ASSERT_TRUE(a.contains("reasoning_content"));
  EXPECT_EQ(a["reasoning_content"], "");
  EXPECT_EQ(b["messages"][2]["tool_call_id"], "functions.get_weather:0");
  EXPECT_EQ(b["tools"][0]["function"]["name"], "get_weather");

  r.messages[1].reasoning = "Need the weather tool.";
  EXPECT_EQ(Body(r, Flavor::kVllm)["messages"][1]["reasoning"], "Need the weather tool.");
  EXPECT_EQ(Body(r, Flavor::kSglang)["messages"][1]["reasoning_content"], "Need the weather tool.");
}

TEST(UpstreamWireTest, ExtraBodyMergesAndCannotChangeTheModel) {
  auto r = Chat("hi");
  r.thinking = true;
  auto b = Body(r, Flavor::kVllm, false, std::nullopt,
                R"({"chat_template_kwargs":{"custom":1},"priority":5,"model":"other"})");
  EXPECT_EQ(b["chat_template_kwargs"], json({{"thinking", true}, {"enable_thinking", true}, {"custom", 1}}));
  EXPECT_EQ(b["priority"], 5);
  EXPECT_EQ(b["model"], "moonshotai/Kimi-K2.5");
}

TEST(UpstreamWireTest, ImagesWithBytesBecomeDataUrls) {
  auto r = Chat("what is this?");
  r.messages[0].parts.push_back({engine::ContentPart::Kind::kImage, "", std::string("\x89PNG", 4), "image/png"});
  r.messages[0].parts.push_back({engine::ContentPart::Kind::kImage, "https://example.com/cat.jpg", "", ""});
  auto b = Body(r, Flavor::kOpenAI);
  const auto& content = b["messages"][0]["content"];
  ASSERT_EQ(content.size(), 3u);
  EXPECT_EQ(content[1]["image_url"]["url"], "data:image/png;base64,iVBORw==");
  EXPECT_EQ(content[2]["image_url"]["url"], "https://example.com/cat.jpg");
}

TEST(UpstreamWireTest, ReadsReasoningUnderEitherName) {
  auto v = ParseStreamEvent(R"({"choices":[{"index":0,"delta":{"reasoning":"hmm"}}]})");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->reasoning, "hmm");
  auto s = ParseStreamEvent(R"({"choices":[{"index":0,"delta":{"reasoning_content":"let me see","content":null}}]})");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->reasoning, "let me see");
  EXPECT_EQ(s->delta, "");
  auto whole = ParseCompletionBody(
      R"({"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"4","reasoning_content":"2+2"}}],"usage":{"prompt_tokens":9,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":8}}})");
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->delta, "4");
  EXPECT_EQ(whole->reasoning, "2+2");
  EXPECT_EQ(whole->finish, engine::FinishReason::kStop);
  EXPECT_EQ(whole->usage->cached_prompt_tokens, 8);
}

TEST(UpstreamWireTest, ToolCallDeltasKeepTheirIdsAndFinishReason) {
  auto e = ParseStreamEvent(
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"functions.get_weather:0","type":"function","function":{"name":"get_weather","arguments":""}}]}}]})");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(json::parse(e->tool_calls)[0]["id"], "functions.get_weather:0");
  auto end = ParseStreamEvent(R"({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})");
  EXPECT_EQ(end->finish, engine::FinishReason::kToolCalls);
  auto usage = ParseStreamEvent(R"({"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"cached_tokens":2}})");
  EXPECT_EQ(usage->usage->completion_tokens, 7);
  EXPECT_EQ(usage->usage->cached_prompt_tokens, 2);
  EXPECT_TRUE(ParseStreamEvent("[DONE]")->done);
}

TEST(UpstreamWireTest, ErrorsSayWhoseFaultItIs) {
  EXPECT_EQ(UpstreamError(400, R"({"error":{"message":"bad temperature"}})", "u").code(), Status::Code::kInvalidArgument);
  EXPECT_NE(UpstreamError(400, R"({"error":{"message":"bad temperature"}})", "u").message().find("bad temperature"),
            std::string::npos);
  EXPECT_EQ(UpstreamError(401, "{}", "u").code(), Status::Code::kBadGateway);
  EXPECT_EQ(UpstreamError(503, "overloaded", "u").code(), Status::Code::kUnavailable);
  EXPECT_EQ(UpstreamError(429, "{}", "u").code(), Status::Code::kUnavailable);
  EXPECT_TRUE(Retryable(UpstreamError(502, "", "u")));
  EXPECT_FALSE(Retryable(UpstreamError(400, "", "u")));
  auto mid = ParseStreamEvent(R"({"error":{"message":"engine died"}})");
  ASSERT_FALSE(mid.ok());
  EXPECT_NE(mid.status().message().find("engine died"), std::string::npos);
  EXPECT_FALSE(ParseStreamEvent("{not json").ok());
}

TEST(UpstreamWireTest, FlavorsAreDetectedFromModelsListing) {
  EXPECT_EQ(DetectFlavor("vllm", "gpu1"), Flavor::kVllm);
  EXPECT_EQ(DetectFlavor("sglang", "gpu1"), Flavor::kSglang);
  EXPECT_EQ(DetectFlavor("llamacpp", "gpu1"), Flavor::kLlamaServer);
  EXPECT_EQ(DetectFlavor("system", "api.moonshot.ai"), Flavor::kMoonshot);
  EXPECT_EQ(DetectFlavor("lingxi", "10.0.0.1"), Flavor::kOpenAI);
  EXPECT_FALSE(ParseFlavor("tgi").ok());
}

TEST(SseParserTest, EventsSurviveAnySplitAndLineEnding) {
  const std::string stream = "data: {\"a\":1}\r\n\r\n: keep-alive\n\nevent: x\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n";
  for (size_t step : {1u, 2u, 3u, 7u, 1000u}) {
    SseParser p;
    std::vector<std::string> got;
    for (size_t i = 0; i < stream.size(); i += step) {
      p.Feed(stream.substr(i, step));
      while (auto e = p.Next()) got.push_back(*e);
    }
    ASSERT_EQ(got.size(), 3u) << "step " << step;
    EXPECT_EQ(got[0], "{\"a\":1}");
    EXPECT_EQ(got[1], "line1\nline2");
    EXPECT_EQ(got[2], "[DONE]");
    EXPECT_EQ(p.buffered(), 0u);
  }
}

TEST(SseParserTest, AnUnfinishedEventIsHeldBack) {
  SseParser p;
  p.Feed("data: {\"partial\":");
  EXPECT_FALSE(p.Next());
  EXPECT_GT(p.buffered(), 0u);
  p.Feed("true}\n\n");
  EXPECT_EQ(p.Next(), "{\"partial\":true}");
}

}  // namespace
}  // namespace lingxi::testing
