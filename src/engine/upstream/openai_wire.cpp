#include "engine/upstream/openai_wire.h"

#include <nlohmann/json.hpp>
#include <simdjson.h>

#include <fmt/format.h>

#include "core/base64.h"

namespace lingxi::engine::upstream {
namespace {

// Ordered: what we forward keeps the order the client or upstream wrote it in.
using json = nlohmann::ordered_json;

bool HasFamilyExtensions(Flavor f) { return f == Flavor::kVllm || f == Flavor::kSglang || f == Flavor::kLlamaServer; }

json RenderPart(const ContentPart& p) {
  switch (p.kind) {
    case ContentPart::Kind::kText: return {{"type", "text"}, {"text", p.text}};
    case ContentPart::Kind::kImage: {
      std::string url = p.data.empty() ? p.text : "data:" + (p.mime.empty() ? "image/png" : p.mime) + ";base64," +
                                                      Base64Encode(p.data);
      return {{"type", "image_url"}, {"image_url", {{"url", url}}}};
    }
    case ContentPart::Kind::kAudio: {
      std::string format = p.mime.find("mp3") != std::string::npos ? "mp3" : "wav";
      return {{"type", "input_audio"}, {"input_audio", {{"data", Base64Encode(p.data)}, {"format", format}}}};
    }
  }
  return {};
}

json RenderMessage(const Message& m, Flavor flavor, bool thinking_on) {
  json out = {{"role", m.role}};
  bool text_only = m.parts.size() == 1 && m.parts[0].kind == ContentPart::Kind::kText;
  if (text_only) {
    out["content"] = m.parts[0].text;
  } else if (m.parts.empty()) {
    out["content"] = m.tool_calls.empty() ? json("") : json(nullptr);
  } else {
    json parts = json::array();
    for (const auto& p : m.parts) parts.push_back(RenderPart(p));
    out["content"] = std::move(parts);
  }
  if (!m.name.empty()) out["name"] = m.name;
  if (!m.tool_call_id.empty()) out["tool_call_id"] = m.tool_call_id;
  if (!m.tool_calls.empty()) out["tool_calls"] = json::parse(m.tool_calls, nullptr, false);
  // The hosted K2.5 refuses a thinking-mode assistant tool call without its reasoning, even "".
  bool must_carry = flavor == Flavor::kMoonshot && thinking_on && !m.tool_calls.empty();
  if (!m.reasoning.empty() || must_carry) out[flavor == Flavor::kVllm ? "reasoning" : "reasoning_content"] = m.reasoning;
  return out;
}

// Objects merge key by key (chat_template_kwargs from two places); anything else replaces.
void Merge(json& into, const json& from) {
  for (auto it = from.begin(); it != from.end(); ++it) {
    if (it.value().is_object() && into.contains(it.key()) && into[it.key()].is_object()) Merge(into[it.key()], it.value());
    else into[it.key()] = it.value();
  }
}

void RenderThinking(json& body, Flavor flavor, bool on) {
  switch (flavor) {
    case Flavor::kMoonshot: body["thinking"] = {{"type", on ? "enabled" : "disabled"}}; break;
    case Flavor::kVllm: Merge(body, {{"chat_template_kwargs", {{"thinking", on}, {"enable_thinking", on}}}}); break;
    case Flavor::kSglang: Merge(body, {{"chat_template_kwargs", {{"thinking", on}}}}); break;
    case Flavor::kLlamaServer: Merge(body, {{"chat_template_kwargs", {{"enable_thinking", on}}}}); break;
    case Flavor::kOpenAI: break;  // no boolean switch in OpenAI's API
  }
}

void RenderSampling(json& body, const SamplingParams& s, Flavor flavor) {
  const SamplingParams d;
  auto set = [&](const char* key, auto value, bool changed) {
    if (changed && !body.contains(key)) body[key] = value;
  };
  set("temperature", s.temperature, s.temperature != d.temperature);
  set("top_p", s.top_p, s.top_p != d.top_p);
  set("presence_penalty", s.presence_penalty, s.presence_penalty != d.presence_penalty);
  set("frequency_penalty", s.frequency_penalty, s.frequency_penalty != d.frequency_penalty);
  set("max_tokens", s.max_tokens, s.max_tokens > 0);
  if (s.seed) set("seed", *s.seed, true);
  set("stop", s.stop, !s.stop.empty());
  if (!s.json_schema.empty())
    set("response_format", json{{"type", "json_schema"}, {"json_schema", {{"name", "output"}, {"schema", json::parse(s.json_schema, nullptr, false)}}}}, true);
  else if (s.json_object)
    set("response_format", json{{"type", "json_object"}}, true);
  if (HasFamilyExtensions(flavor)) {
    set("top_k", s.top_k, s.top_k != d.top_k);
    set("min_p", s.min_p, s.min_p != d.min_p);
    set("repetition_penalty", s.repeat_penalty, s.repeat_penalty != d.repeat_penalty);
    set("ignore_eos", true, s.ignore_eos);
  }
}

std::string TextOf(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<FinishReason> ParseFinish(std::string_view s) {
  if (s == "length") return FinishReason::kLength;
  if (s == "tool_calls" || s == "function_call") return FinishReason::kToolCalls;
  return FinishReason::kStop;  // stop, eos, content_filter, ...
}

// Answers are read with simdjson's DOM: a streamed answer is parsed once per token, and
// nlohmann's tree cost more than the rest of the hop. One parser per thread, reused.
namespace sj = simdjson::dom;

std::string_view StringOf(sj::object o, std::string_view key) {
  std::string_view v;
  if (o[key].get_string().get(v) != simdjson::SUCCESS) return {};
  return v;
}

int IntOf(sj::object o, std::string_view key) {
  int64_t v = 0;
  if (o[key].get_int64().get(v) != simdjson::SUCCESS) return 0;
  return static_cast<int>(v);
}

Usage ParseUsage(sj::object u) {
  Usage out;
  out.prompt_tokens = IntOf(u, "prompt_tokens");
  out.completion_tokens = IntOf(u, "completion_tokens");
  sj::object details;
  if (u["prompt_tokens_details"].get_object().get(details) == simdjson::SUCCESS) out.cached_prompt_tokens = IntOf(details, "cached_tokens");
  else out.cached_prompt_tokens = IntOf(u, "cached_tokens");  // Moonshot puts it at the top
  return out;
}

Result<UpstreamEvent> ParseObject(std::string_view text, bool stream) {
  thread_local sj::parser parser;
  sj::object j;
  if (parser.parse(text.data(), text.size()).get_object().get(j) != simdjson::SUCCESS)
    return Status::BadGateway(fmt::format("the upstream sent invalid JSON: {:.200}", text));
  if (sj::element e; j["error"].get(e) == simdjson::SUCCESS) {
    std::string msg;
    if (e.is_object()) msg = std::string(StringOf(e.get_object().value_unsafe(), "message"));
    else if (e.is_string()) msg = std::string(e.get_string().value_unsafe());
    else msg = simdjson::minify(e);
    return Status::BadGateway("the upstream failed mid-answer: " + msg);
  }
  UpstreamEvent ev;
  if (sj::object u; j["usage"].get_object().get(u) == simdjson::SUCCESS) ev.usage = ParseUsage(u);
  sj::array choices;
  sj::object c;
  if (j["choices"].get_array().get(choices) != simdjson::SUCCESS || choices.at(0).get_object().get(c) != simdjson::SUCCESS) {
    if (!stream) return Status::BadGateway("the upstream's answer has no choices");
    return ev;  // the usage-only chunk of include_usage
  }
  if (std::string_view f; c["finish_reason"].get_string().get(f) == simdjson::SUCCESS) ev.finish = ParseFinish(f);
  sj::object m;
  if (c[stream ? "delta" : "message"].get_object().get(m) == simdjson::SUCCESS) {
    ev.delta = StringOf(m, "content");
    ev.reasoning = StringOf(m, "reasoning_content");
    if (ev.reasoning.empty()) ev.reasoning = StringOf(m, "reasoning");
    // Tool calls as the upstream wrote them (minified; member order and strings kept).
    if (sj::array t; m["tool_calls"].get_array().get(t) == simdjson::SUCCESS && t.size() > 0) ev.tool_calls = simdjson::minify(t);
  } else {
    ev.delta = StringOf(c, "text");  // text_completion
  }
  return ev;
}

}  // namespace

Result<Flavor> ParseFlavor(std::string_view name) {
  if (name == "openai") return Flavor::kOpenAI;
  if (name == "vllm") return Flavor::kVllm;
  if (name == "sglang") return Flavor::kSglang;
  if (name == "llama-server") return Flavor::kLlamaServer;
  if (name == "moonshot") return Flavor::kMoonshot;
  return Status::InvalidArgument(fmt::format("unknown upstream flavor \"{}\"", name));
}

const char* FlavorName(Flavor f) {
  switch (f) {
    case Flavor::kOpenAI: return "openai";
    case Flavor::kVllm: return "vllm";
    case Flavor::kSglang: return "sglang";
    case Flavor::kLlamaServer: return "llama-server";
    case Flavor::kMoonshot: return "moonshot";
  }
  return "openai";
}

Flavor DetectFlavor(std::string_view owned_by, std::string_view host) {
  if (host.find("moonshot") != std::string_view::npos) return Flavor::kMoonshot;
  if (owned_by == "vllm") return Flavor::kVllm;
  if (owned_by == "sglang") return Flavor::kSglang;
  if (owned_by == "llamacpp") return Flavor::kLlamaServer;
  if (owned_by == "moonshot" || owned_by == "moonshotai") return Flavor::kMoonshot;
  return Flavor::kOpenAI;
}

std::string RenderRequestBody(const ChatRequest& request, const WireOptions& options, bool stream) {
  json body;
  body["model"] = options.model;
  std::optional<bool> thinking = request.thinking ? request.thinking : options.thinking;
  if (request.prompt) {
    body["prompt"] = *request.prompt;
  } else {
    json messages = json::array();
    for (const auto& m : request.messages) messages.push_back(RenderMessage(m, options.flavor, thinking.value_or(true)));
    body["messages"] = std::move(messages);
  }
  if (!request.passthrough.empty()) {
    json extra = json::parse(request.passthrough, nullptr, false);
    if (extra.is_object()) Merge(body, extra);
  }
  if (!request.tools.empty()) body["tools"] = json::parse(request.tools, nullptr, false);
  if (!request.tool_choice.empty()) body["tool_choice"] = json::parse(request.tool_choice, nullptr, false);
  RenderSampling(body, request.sampling, options.flavor);
  if (thinking && !request.prompt) RenderThinking(body, options.flavor, *thinking);
  if (!options.extra_body.empty()) {
    json extra = json::parse(options.extra_body, nullptr, false);
    if (extra.is_object()) Merge(body, extra);
  }
  body["model"] = options.model;  // never the client's alias
  body["stream"] = stream;
  if (stream) body["stream_options"] = {{"include_usage", true}};  // usage is what cost is made of
  else body.erase("stream_options");
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<UpstreamEvent> ParseCompletionBody(std::string_view body) { return ParseObject(body, false); }

Result<UpstreamEvent> ParseStreamEvent(std::string_view data) {
  if (data == "[DONE]") {
    UpstreamEvent ev;
    ev.done = true;
    return ev;
  }
  return ParseObject(data, true);
}

Status UpstreamError(int http_status, std::string_view body, std::string_view upstream) {
  std::string msg;
  json j = json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("error")) {
    const json& e = j["error"];
    msg = e.is_object() ? TextOf(e, "message") : e.is_string() ? e.get<std::string>() : e.dump();
  } else if (!j.is_discarded() && j.is_object() && j.contains("message")) {
    msg = TextOf(j, "message");
  } else {
    msg = std::string(body.substr(0, 200));
  }
  std::string text = fmt::format("upstream {} answered {}: {}", upstream, http_status, msg);
  switch (http_status) {
    case 400:
    case 422: return Status::InvalidArgument(text);
    case 404: return Status::NotFound(text);
    case 413: return Status::PayloadTooLarge(text);
    case 401:
    case 403: return Status::BadGateway(text + " (check the upstream's api_key)");
    case 408:
    case 429: return Status::Unavailable(text);
    default: return http_status >= 500 ? Status::Unavailable(text) : Status::BadGateway(text);
  }
}

bool Retryable(const Status& s) {
  return s.code() == Status::Code::kUnavailable || s.code() == Status::Code::kDeadlineExceeded;
}

}  // namespace lingxi::engine::upstream
