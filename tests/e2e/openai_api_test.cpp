// The OpenAI-compatible API and /predict of the real binary serving the generated test model.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <signal.h>

#include <future>
#include <thread>

#include "core/base64.h"
#include "e2e/lingxi_process.h"
#include "support/http_client.h"
#include "support/process.h"

namespace lingxi::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class OpenAIApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    lingxi_ = new LingxiProcess({"--model", TestModelFile(), "--threads", "2", "--set", "model.context=512"});
    ASSERT_TRUE(lingxi_->WaitReady());
  }
  static void TearDownTestSuite() {
    delete lingxi_;
    lingxi_ = nullptr;
  }
  static int port() { return lingxi_->port(); }
  static HttpResponse Post(const std::string& path, const json& body) {
    return Fetch(port(), "POST", path, body.dump(), {{"Content-Type", "application/json"}});
  }
  static LingxiProcess* lingxi_;
};
LingxiProcess* OpenAIApiTest::lingxi_ = nullptr;

json Chat(std::string text, int max_tokens = 8) {
  return {{"model", "tiny-chat"},
          {"messages", {{{"role", "user"}, {"content", std::move(text)}}}},
          {"temperature", 0},
          {"max_tokens", max_tokens}};
}

// "data: {...}\n\n" events of an SSE body, as they are framed on the wire.
std::vector<std::string> SseData(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\n\n", pos);
    EXPECT_NE(end, std::string::npos) << "unterminated event at " << pos;
    if (end == std::string::npos) break;
    std::string event = body.substr(pos, end - pos);
    EXPECT_EQ(event.rfind("data: ", 0), 0u) << event;
    out.push_back(event.substr(6));
    pos = end + 2;
  }
  return out;
}

TEST_F(OpenAIApiTest, ChatCompletionHasOpenAIShape) {
  auto r = Post("/v1/chat/completions", Chat("Hello"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["model"], "tiny-chat");
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_TRUE(j["choices"][0]["message"]["content"].is_string());
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(j["usage"]["completion_tokens"], 8);
  EXPECT_EQ(j["usage"]["total_tokens"], j["usage"]["prompt_tokens"].get<int>() + 8);
  // Greedy is deterministic across requests.
  EXPECT_EQ(json::parse(Post("/v1/chat/completions", Chat("Hello")).body)["choices"][0]["message"]["content"],
            j["choices"][0]["message"]["content"]);
}

TEST_F(OpenAIApiTest, StreamIsFramedAsOpenAIChunksEndingWithDone) {
  auto body = Chat("Stream please", 6);
  body["stream"] = true;
  body["stream_options"] = {{"include_usage", true}};
  auto r = Post("/v1/chat/completions", body);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type"), "text/event-stream");
  auto events = SseData(r.body);
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.back(), "[DONE]");
  auto first = json::parse(events[0]);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  std::string text;
  std::string finish;
  for (size_t i = 1; i + 2 < events.size(); ++i) {
    auto c = json::parse(events[i]);
    EXPECT_EQ(c["id"], first["id"]);
    if (c["choices"][0]["finish_reason"].is_string()) finish = c["choices"][0]["finish_reason"];
    else text += c["choices"][0]["delta"]["content"].get<std::string>();
  }
  EXPECT_EQ(finish, "length");
  auto usage = json::parse(events[events.size() - 2]);
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["completion_tokens"], 6);
  // The streamed text equals the whole answer.
  auto whole = json::parse(Post("/v1/chat/completions", Chat("Stream please", 6)).body);
  EXPECT_EQ(text, whole["choices"][0]["message"]["content"]);
}

TEST_F(OpenAIApiTest, EightConcurrentStreamsCompleteAndShareDecodeSteps) {
  auto batch_count = [] {
    auto m = Fetch(port(), "GET", "/metrics").body;
    auto value = [&m](const std::string& series) {
      auto at = m.find(series + " ");
      EXPECT_NE(at, std::string::npos) << series;
      return at == std::string::npos ? 0.0 : std::stod(m.substr(at + series.size() + 1));
    };
    return std::pair{value(R"(lingxi_engine_batch_sequences_bucket{model="tiny-chat",le="1"})"),
                     value(R"(lingxi_engine_batch_sequences_count{model="tiny-chat"})")};
  };
  auto [solo_before, steps_before] = batch_count();
  std::vector<std::future<HttpResponse>> streams;
  for (int i = 0; i < 8; ++i) {
    streams.push_back(std::async(std::launch::async, [i] {
      auto body = Chat("Concurrent stream " + std::to_string(i), 64);
      body["stream"] = true;
      body["ignore_eos"] = true;
      return Post("/v1/chat/completions", body);
    }));
  }
  for (auto& f : streams) {
    auto r = f.get();
    ASSERT_EQ(r.status, 200);
    auto events = SseData(r.body);
    ASSERT_GE(events.size(), 3u);
    EXPECT_EQ(events.back(), "[DONE]");
    EXPECT_EQ(json::parse(events[events.size() - 2])["choices"][0]["finish_reason"], "length");
  }
  auto [solo_after, steps_after] = batch_count();
  // Most decode steps advanced several of the streams at once.
  EXPECT_LT(solo_after - solo_before, (steps_after - steps_before) / 2);
}

TEST_F(OpenAIApiTest, CompletionsAndPredict) {
  auto c = Post("/v1/completions", {{"model", "default"}, {"prompt", "Once upon a time"}, {"temperature", 0}, {"max_tokens", 5}});
  ASSERT_EQ(c.status, 200) << c.body;
  auto cj = json::parse(c.body);
  EXPECT_EQ(cj["object"], "text_completion");
  EXPECT_TRUE(cj["choices"][0]["text"].is_string());

  auto p = Post("/predict", {{"text", "What is lingxi?"}, {"params", {{"temperature", 0}, {"max_tokens", 5}}}});
  ASSERT_EQ(p.status, 200) << p.body;
  auto pj = json::parse(p.body);
  EXPECT_TRUE(pj["result"].is_string());
  EXPECT_FALSE(pj["result"].get<std::string>().empty());
  EXPECT_EQ(pj["usage"]["completion_tokens"], 5);
}

TEST_F(OpenAIApiTest, ModelsListsTheServedModelAndDefaultResolves) {
  auto r = Fetch(port(), "GET", "/v1/models");
  ASSERT_EQ(r.status, 200);
  auto j = json::parse(r.body);
  EXPECT_EQ(j["object"], "list");
  ASSERT_EQ(j["data"].size(), 1u);
  EXPECT_EQ(j["data"][0]["id"], "tiny-chat");
  EXPECT_EQ(j["data"][0]["object"], "model");
  EXPECT_EQ(Fetch(port(), "GET", "/v1/models/tiny-chat").status, 200);
  auto d = Chat("hi", 2);
  d["model"] = "default";
  auto answer = json::parse(Post("/v1/chat/completions", d).body);
  EXPECT_EQ(answer["model"], "tiny-chat");
}

TEST_F(OpenAIApiTest, EmbeddingsAsFloatsAndBase64) {
  auto f = Post("/v1/embeddings", {{"model", "tiny-chat"}, {"input", {"one", "two"}}});
  ASSERT_EQ(f.status, 200) << f.body;
  auto fj = json::parse(f.body);
  ASSERT_EQ(fj["data"].size(), 2u);
  auto v = fj["data"][0]["embedding"].get<std::vector<float>>();
  EXPECT_EQ(v.size(), 64u);
  auto b = Post("/v1/embeddings", {{"input", "one"}, {"encoding_format", "base64"}});
  ASSERT_EQ(b.status, 200);
  auto raw = Base64Decode(json::parse(b.body)["data"][0]["embedding"].get<std::string>());
  ASSERT_TRUE(raw);
  ASSERT_EQ(raw->size(), v.size() * 4);
  std::vector<float> decoded(v.size());
  std::memcpy(decoded.data(), raw->data(), raw->size());
  EXPECT_EQ(decoded, v);
}

TEST_F(OpenAIApiTest, BadRequestsGetClear4xx) {
  auto bad_json = Fetch(port(), "POST", "/v1/chat/completions", "{not json", {{"Content-Type", "application/json"}});
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(json::parse(bad_json.body)["error"]["message"], "the request body is not valid JSON");

  auto unknown = Chat("hi");
  unknown["model"] = "gpt-9";
  auto u = Post("/v1/chat/completions", unknown);
  EXPECT_EQ(u.status, 404);
  EXPECT_EQ(json::parse(u.body)["error"]["message"], "The model 'gpt-9' does not exist");

  auto negative = Chat("hi");
  negative["max_tokens"] = -5;
  auto n = Post("/v1/chat/completions", negative);
  EXPECT_EQ(n.status, 400);
  EXPECT_EQ(json::parse(n.body)["error"]["message"], "max_tokens: must be at least 1, got -5");

  std::string huge;
  for (int i = 0; i < 600; ++i) huge += "token" + std::to_string(i) + " ";
  auto big = Post("/v1/chat/completions", Chat(huge));
  EXPECT_EQ(big.status, 400);
  EXPECT_NE(json::parse(big.body)["error"]["message"].get<std::string>().find("context holds 512"), std::string::npos);

  auto no_messages = Post("/v1/chat/completions", {{"model", "tiny-chat"}});
  EXPECT_EQ(no_messages.status, 400);
  EXPECT_EQ(json::parse(no_messages.body)["error"]["message"], "messages: expected a non-empty array");
}

TEST(OpenAIQueueTest, FullQueueIs503WithRetryAfter) {
  LingxiProcess lingxi({"--model", TestModelFile(), "--threads", "1", "--parallel", "1", "--set", "model.queue=0",
                        "--set", "model.context=512"});
  ASSERT_TRUE(lingxi.WaitReady());
  auto long_request = std::async(std::launch::async, [&] {
    auto body = Chat("long", 400);
    body["ignore_eos"] = true;  // keeps the only slot busy for all 400 tokens
    return Fetch(lingxi.port(), "POST", "/v1/chat/completions", body.dump());
  });
  // Wait until the long request holds the only sequence, then ask for another.
  auto active = [&] {
    auto m = Fetch(lingxi.port(), "GET", "/metrics").body;
    std::string series = R"(lingxi_engine_active_sequences{model="tiny-chat"} )";
    auto at = m.find(series);
    return at == std::string::npos ? 0.0 : std::stod(m.substr(at + series.size()));
  };
  for (int i = 0; i < 500 && active() < 1; ++i) std::this_thread::sleep_for(2ms);
  ASSERT_EQ(active(), 1);
  auto refused = Fetch(lingxi.port(), "POST", "/v1/chat/completions", Chat("second", 2).dump());
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.Header("retry-after"), "1");
  EXPECT_EQ(json::parse(refused.body)["error"]["type"], "server_error");
  EXPECT_EQ(long_request.get().status, 200);
}

TEST_F(OpenAIApiTest, ClientHangingUpCancelsANonStreamedRequest) {
  auto cancelled = [] {
    auto m = Fetch(port(), "GET", "/metrics").body;
    std::string series = R"(lingxi_engine_requests_total{finish="cancelled",model="tiny-chat"} )";
    auto at = m.find(series);
    return at == std::string::npos ? 0.0 : std::stod(m.substr(at + series.size()));
  };
  double before = cancelled();
  {
    HttpConnection c(port());
    auto body = Chat("A long answer please", 480);
    body["ignore_eos"] = true;
    std::string b = body.dump();
    ASSERT_TRUE(c.SendRaw("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                          std::to_string(b.size()) + "\r\n\r\n" + b));
    std::this_thread::sleep_for(30ms);
  }  // hang up before the answer is ready
  double after = before;
  for (int i = 0; i < 200 && after == before; ++i) {
    std::this_thread::sleep_for(10ms);
    after = cancelled();
  }
  EXPECT_EQ(after, before + 1);
}

TEST(OpenAIStartupTest, MissingModelFileExitsNonZeroNamingIt) {
  Process p({LINGXI_BINARY, "serve", "--port", "0", "--model", "/nonexistent/x.gguf"});
  EXPECT_EQ(p.Wait(30s), 1);
  EXPECT_NE(p.Log().find("/nonexistent/x.gguf: no such file"), std::string::npos) << p.Log();
}

TEST(OpenAIStartupTest, WithExitOnLoadFailureOffReadyStays503WithTheError) {
  LingxiProcess lingxi({"--model", "/nonexistent/x.gguf", "--set", "model.exit_on_load_failure=false"});
  HttpResponse ready;
  for (int i = 0; i < 200; ++i) {
    ready = Fetch(lingxi.port(), "GET", "/ready");
    if (ready.body.find("failed") != std::string::npos) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(ready.status, 503);
  auto j = json::parse(ready.body);
  EXPECT_EQ(j["components"][0]["state"], "failed");
  EXPECT_EQ(j["components"][0]["error"], "/nonexistent/x.gguf: no such file");
  EXPECT_EQ(Fetch(lingxi.port(), "GET", "/health").status, 200);  // still serving
  auto chat = Chat("hi");
  chat["model"] = "default";
  auto r = Fetch(lingxi.port(), "POST", "/v1/chat/completions", chat.dump());
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(json::parse(r.body)["error"]["message"], "The model 'x' failed to load: /nonexistent/x.gguf: no such file");
}

}  // namespace
}  // namespace lingxi::testing
