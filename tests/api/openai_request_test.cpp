// What the OpenAI-shaped request parsers accept, what they make of it, and what they refuse
// (with the field named): the contract every client and the upstream passthrough rely on.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/openai_request.h"

namespace lingxi::testing {
namespace {

using nlohmann::json;
using namespace api;
using engine::ContentPart;

// The fields lingxi forwards untouched, as one object.
json Passthrough(const engine::ChatRequest& r) {
  json out = json::object();
  for (const auto& [k, v] : r.passthrough) out[k] = json::parse(v);
  return out;
}

std::string Error(const Result<ParsedChat>& r) { return r.ok() ? "(ok)" : r.status().message(); }

TEST(OpenAIRequestTest, ReadsAMinimalChat) {
  auto r = ParseChatCompletion(R"({"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->request.model, "default");
  EXPECT_FALSE(r->request.stream);
  ASSERT_EQ(r->request.messages.size(), 1u);
  EXPECT_EQ(r->request.messages[0].role, "user");
  EXPECT_EQ(r->request.messages[0].Text(), "hi");
  EXPECT_TRUE(r->request.passthrough.empty());
  EXPECT_FALSE(r->include_usage);
  EXPECT_EQ(r->reasoning_field, "reasoning_content");
}

TEST(OpenAIRequestTest, ReadsMessagesOfEveryShape) {
  auto r = ParseChatCompletion(R"({"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[
    {"role":"developer","content":"be brief"},
    {"role":"user","content":[{"type":"text","text":"what is \u00e9?"},{"type":"image_url","image_url":{"url":"https://x/cat.png"}}]},
    {"role":"assistant","content":null,"reasoning_content":"think","reasoning":"other",
     "tool_calls":[{"id":"call:1","type":"function","function":{"name":"f","arguments":"{\"a\": 1}"}}]},
    {"role":"tool","tool_call_id":"call:1","name":"f","content":"42"}]})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto& m = r->request.messages;
  EXPECT_EQ(r->request.model, "m");
  EXPECT_TRUE(r->request.stream);
  EXPECT_TRUE(r->include_usage);
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0].role, "system");
  ASSERT_EQ(m[1].parts.size(), 2u);
  EXPECT_EQ(m[1].parts[0].text, "what is \xc3\xa9?");
  EXPECT_EQ(m[1].parts[1].kind, ContentPart::Kind::kImage);
  EXPECT_EQ(m[1].parts[1].text, "https://x/cat.png");
  EXPECT_TRUE(m[2].parts.empty());
  EXPECT_EQ(m[2].reasoning, "think");  // reasoning_content wins over reasoning
  EXPECT_EQ(json::parse(m[2].tool_calls)[0]["id"], "call:1");
  EXPECT_EQ(json::parse(m[2].tool_calls)[0]["function"]["arguments"], "{\"a\": 1}");
  EXPECT_EQ(m[3].tool_call_id, "call:1");
  EXPECT_EQ(m[3].name, "f");
  EXPECT_EQ(m[3].Text(), "42");
}

TEST(OpenAIRequestTest, ReadsSampling) {
  auto r = ParseChatCompletion(R"({"messages":[{"role":"user","content":"x"}],"temperature":0.5,"top_p":0.9,
    "top_k":7,"min_p":0.1,"repeat_penalty":1.1,"presence_penalty":-1,"frequency_penalty":1.5,"max_tokens":20,
    "seed":42,"stop":["a","b"],"n":1,"ignore_eos":true,"grammar":"root ::= \"x\"",
    "response_format":{"type":"json_schema","json_schema":{"schema":{"type":"object","required":["a"]}}}})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto& s = r->request.sampling;
  EXPECT_FLOAT_EQ(s.temperature, 0.5f);
  EXPECT_FLOAT_EQ(s.top_p, 0.9f);
  EXPECT_EQ(s.top_k, 7);
  EXPECT_FLOAT_EQ(s.min_p, 0.1f);
  EXPECT_FLOAT_EQ(s.repeat_penalty, 1.1f);
  EXPECT_FLOAT_EQ(s.presence_penalty, -1.0f);
  EXPECT_FLOAT_EQ(s.frequency_penalty, 1.5f);
  EXPECT_EQ(s.max_tokens, 20);
  EXPECT_EQ(s.seed, 42u);
  EXPECT_EQ(s.stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(s.ignore_eos);
  EXPECT_EQ(s.grammar, "root ::= \"x\"");
  EXPECT_EQ(json::parse(s.json_schema), json::parse(R"({"type":"object","required":["a"]})"));

  auto one = ParseChatCompletion(R"({"messages":[{"role":"user","content":"x"}],"stop":"end","max_completion_tokens":5,
    "response_format":{"type":"json_object"}})");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->request.sampling.stop, std::vector<std::string>{"end"});
  EXPECT_EQ(one->request.sampling.max_tokens, 5);
  EXPECT_TRUE(one->request.sampling.json_object);
}

TEST(OpenAIRequestTest, RefusesBadFieldsByName) {
  auto chat = [](std::string fields) {
    return Error(ParseChatCompletion(R"({"messages":[{"role":"user","content":"x"}],)" + fields + "}"));
  };
  EXPECT_EQ(Error(ParseChatCompletion("{")), "the request body is not valid JSON");
  EXPECT_EQ(Error(ParseChatCompletion("[1]")), "the request body must be a JSON object");
  EXPECT_EQ(Error(ParseChatCompletion(R"({"messages":[]})")), "messages: expected a non-empty array");
  EXPECT_EQ(Error(ParseChatCompletion(R"({"messages":"hi"})")), "messages: expected a non-empty array");
  EXPECT_EQ(Error(ParseChatCompletion(R"({"messages":[3]})")), "messages[0]: expected an object");
  EXPECT_EQ(Error(ParseChatCompletion(R"({"messages":[{"content":"x"}]})")), "messages[0].role: expected a string");
  EXPECT_EQ(Error(ParseChatCompletion(R"({"messages":[{"role":"robot","content":"x"}]})")),
            "messages[0].role: expected system, developer, user, assistant or tool, got \"robot\"");
  EXPECT_EQ(Error(ParseChatCompletion(R"({"messages":[{"role":"user","content":5}]})")),
            "messages[0].content: expected a string or an array of content parts");
  EXPECT_EQ(Error(ParseChatCompletion(R"({"messages":[{"role":"user","content":[{"type":"video"}]}]})")),
            "messages[0].content[0].type: unsupported content type \"video\"");
  EXPECT_EQ(Error(ParseChatCompletion(R"({"messages":[{"role":"user","content":[{"text":"x"}]}]})")),
            "messages[0].content[0]: expected a content part {\"type\": ...}");
  EXPECT_EQ(Error(ParseChatCompletion(R"({"messages":[{"role":"user","content":[{"type":"text"}]}]})")),
            "messages[0].content[0].text: expected a string");
  EXPECT_EQ(Error(ParseChatCompletion(R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]})")),
            "messages[0].content[0].image_url.url: expected a URL");
  EXPECT_EQ(Error(ParseChatCompletion(R"({"messages":[{"role":"assistant","tool_calls":{}}]})")),
            "messages[0].tool_calls: expected an array");
  EXPECT_EQ(Error(ParseChatCompletion(R"({"messages":[{"role":"tool","tool_call_id":7}]})")),
            "messages[0].tool_call_id: expected a string");
  EXPECT_EQ(chat(R"("model":3)"), "model: expected a string");
  EXPECT_EQ(chat(R"("stream":"yes")"), "stream: expected true or false");
  EXPECT_EQ(chat(R"("temperature":"hot")"), "temperature: expected a number");
  EXPECT_EQ(chat(R"("temperature":3)"), "temperature: must be between 0 and 2, got 3");
  EXPECT_EQ(chat(R"("top_p":1.5)"), "top_p: must be between 0 and 1, got 1.5");
  EXPECT_EQ(chat(R"("top_k":1.5)"), "top_k: expected an integer");
  EXPECT_EQ(chat(R"("max_tokens":-5)"), "max_tokens: must be at least 1, got -5");
  EXPECT_EQ(chat(R"("max_tokens":"many")"), "max_tokens: expected an integer");
  EXPECT_EQ(chat(R"("seed":"s")"), "seed: expected an integer");
  EXPECT_EQ(chat(R"("stop":[1])"), "stop: expected a string or an array of strings");
  EXPECT_EQ(chat(R"("stop":5)"), "stop: expected a string or an array of up to 16 strings");
  EXPECT_EQ(chat(R"("n":2)"), "n: only n = 1 is supported");
  EXPECT_EQ(chat(R"("ignore_eos":1)"), "ignore_eos: expected true or false");
  EXPECT_EQ(chat(R"("grammar":1)"), "grammar: expected a GBNF string");
  EXPECT_EQ(chat(R"("response_format":"json")"), "response_format: expected {\"type\": ...}");
  EXPECT_EQ(chat(R"("response_format":{"type":"xml"})"),
            "response_format.type: expected text, json_object or json_schema, got \"xml\"");
  EXPECT_EQ(chat(R"("response_format":{"type":"json_schema","json_schema":{}})"),
            "response_format.json_schema.schema: expected a JSON Schema object");
  EXPECT_EQ(chat(R"("tools":{})"), "tools: expected an array of tools");
  EXPECT_EQ(chat(R"("tool_choice":1)"), "tool_choice: expected a string or an object");
  EXPECT_EQ(chat(R"("thinking":"yes")"), "thinking: expected true, false or {\"type\": \"enabled\"|\"disabled\"}");
  EXPECT_EQ(chat(R"("reasoning_field":"thoughts")"), "reasoning_field: expected reasoning_content, reasoning or both");
  EXPECT_EQ(chat(R"("cache":"no")"), "cache: expected true or false");
}

TEST(OpenAIRequestTest, ForwardsWhatItDoesNotReadInTheClientsOrder) {
  auto r = ParseChatCompletion(R"({"model":"m","logprobs":true,"messages":[{"role":"user","content":"x"}],
    "temperature":0.25,"user":"u-1","metadata":{"b":[1,2.5,"s"],"a":null},"max_tokens":9,
    "tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"auto","cache":false,
    "thinking":{"type":"disabled"},"reasoning_field":"both"})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto& q = r->request;
  std::vector<std::string> keys;
  for (const auto& [k, v] : q.passthrough) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"logprobs", "temperature", "user", "metadata", "max_tokens"}));
  EXPECT_EQ(Passthrough(q)["metadata"], json::parse(R"({"b":[1,2.5,"s"],"a":null})"));
  EXPECT_EQ(Passthrough(q)["temperature"], 0.25);
  EXPECT_EQ(json::parse(q.tools)[0]["function"]["name"], "f");
  EXPECT_EQ(json::parse(q.tool_choice), "auto");
  EXPECT_EQ(q.session, "u-1");
  EXPECT_FALSE(q.cache);
  EXPECT_EQ(q.thinking, false);
  EXPECT_EQ(r->reasoning_field, "both");

  auto kw = ParseChatCompletion(R"({"messages":[{"role":"user","content":"x"}],"chat_template_kwargs":{"enable_thinking":true}})");
  ASSERT_TRUE(kw.ok());
  EXPECT_EQ(kw->request.thinking, true);
  EXPECT_EQ(Passthrough(kw->request)["chat_template_kwargs"], json::parse(R"({"enable_thinking":true})"));
  auto on = ParseChatCompletion(R"({"messages":[{"role":"user","content":"x"}],"thinking":true})");
  ASSERT_TRUE(on.ok());
  EXPECT_EQ(on->request.thinking, true);
}

TEST(OpenAIRequestTest, ReadsCompletions) {
  auto r = ParseCompletion(R"({"model":"m","prompt":"Once","echo":false})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->request.prompt, "Once");
  EXPECT_EQ(r->request.sampling.max_tokens, 16);  // OpenAI's default for completions
  EXPECT_EQ(Passthrough(r->request), json::parse(R"({"echo":false})"));
  EXPECT_EQ(Error(ParseCompletion(R"({"prompt":["a"]})")), "prompt: expected a string");
  EXPECT_EQ(Error(ParseCompletion(R"({"prompt":"a","max_tokens":0})")), "max_tokens: must be at least 1, got 0");
}

TEST(OpenAIRequestTest, ReadsPredict) {
  auto r = ParsePredict(R"({"text":"hello","images":["data:image/png;base64,AA=="],"params":{"temperature":0,"seed":1,"top_logprobs":2}})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->request.model, "default");
  ASSERT_EQ(r->request.messages.size(), 1u);
  ASSERT_EQ(r->request.messages[0].parts.size(), 2u);
  EXPECT_EQ(r->request.messages[0].parts[0].text, "hello");
  EXPECT_EQ(r->request.messages[0].parts[1].kind, ContentPart::Kind::kImage);
  EXPECT_FLOAT_EQ(r->request.sampling.temperature, 0.0f);
  EXPECT_EQ(r->request.sampling.seed, 1u);
  EXPECT_EQ(Passthrough(r->request)["top_logprobs"], 2);

  auto chat = ParsePredict(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(chat.ok());
  EXPECT_EQ(chat->request.model, "m");
  EXPECT_EQ(chat->request.messages[0].Text(), "hi");

  EXPECT_EQ(Error(ParsePredict(R"({"text":""})")), "text: must not be empty");
  EXPECT_EQ(Error(ParsePredict(R"({"text":4})")), "text: expected a string");
  EXPECT_EQ(Error(ParsePredict(R"({"text":"a","model":4})")), "model: expected a string");
  EXPECT_EQ(Error(ParsePredict(R"({"text":"a","images":"x"})")), "images: expected an array of URLs or data: URLs");
  EXPECT_EQ(Error(ParsePredict(R"({"text":"a","params":[]})")), "params: expected an object of sampling parameters");
  EXPECT_EQ(Error(ParsePredict(R"({"text":"a","params":{"temperature":9}})")),
            "params: temperature: must be between 0 and 2, got 9");
}

TEST(OpenAIRequestTest, ReadsEmbeddings) {
  auto one = ParseEmbeddings(R"({"model":"e","input":"hello"})");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->model, "e");
  EXPECT_EQ(one->inputs, std::vector<std::string>{"hello"});
  EXPECT_FALSE(one->base64);
  auto many = ParseEmbeddings(R"({"input":["a","b"],"encoding_format":"base64"})");
  ASSERT_TRUE(many.ok());
  EXPECT_EQ(many->model, "default");
  EXPECT_EQ(many->inputs.size(), 2u);
  EXPECT_TRUE(many->base64);
  auto err = [](const std::string& body) {
    auto r = ParseEmbeddings(body);
    return r.ok() ? std::string("(ok)") : r.status().message();
  };
  EXPECT_EQ(err(R"({"model":"e"})"), "input: expected a string or an array of strings");
  EXPECT_EQ(err(R"({"input":[]})"), "input: expected a string or a non-empty array of strings");
  EXPECT_EQ(err(R"({"input":[1]})"), "input: expected a string or an array of strings");
  EXPECT_EQ(err(R"({"input":"a","encoding_format":"int8"})"), "encoding_format: expected float or base64");
  EXPECT_EQ(err(R"({"input":"a","model":1})"), "model: expected a string");
  std::string big = R"({"input":[)";
  for (int i = 0; i < 2049; ++i) big += std::string(i ? "," : "") + "\"x\"";
  EXPECT_EQ(err(big + "]}"), "input: at most 2048 inputs per request");
}

}  // namespace
}  // namespace lingxi::testing
