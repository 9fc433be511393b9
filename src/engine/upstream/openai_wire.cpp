#include "engine/upstream/openai_wire.h"

#include <nlohmann/json.hpp>
#include <simdjson.h>

#include <fmt/format.h>

#include "core/base64.h"
#include "core/json_writer.h"

namespace lingxi::engine::upstream {
namespace {

// Ordered: what we forward keeps the order the client or upstream wrote it in.
using json = nlohmann::ordered_json;

bool HasFamilyExtensions(Flavor f) { return f == Flavor::kVllm || f == Flavor::kSglang || f == Flavor::kLlamaServer; }

// The upstream body's top-level fields in order, each as JSON text. Set() replaces a field
// where it stands; Merge() merges two objects key by key (chat_template_kwargs from the
// client, the thinking switch and extra_body) and replaces anything else. Only a merge of two
// objects builds a tree; everything else is string work.
class BodyFields {
 public:
  BodyFields() { fields_.reserve(16); }
  void Set(std::string_view key, std::string value) {
    if (auto* v = Find(key)) *v = std::move(value);
    else fields_.emplace_back(std::string(key), std::move(value));
  }
  void SetIfAbsent(std::string_view key, std::string value) {
    if (!Find(key)) fields_.emplace_back(std::string(key), std::move(value));
  }
  bool Has(std::string_view key) { return Find(key) != nullptr; }
  void Erase(std::string_view key) {
    std::erase_if(fields_, [&](const auto& f) { return f.first == key; });
  }
  void Merge(std::string_view key, std::string value) {
    auto* old = Find(key);
    if (!old || value.empty() || value.front() != '{' || old->empty() || old->front() != '{') {
      Set(key, std::move(value));
      return;
    }
    json into = json::parse(*old, nullptr, false), from = json::parse(value, nullptr, false);
    if (into.is_discarded() || from.is_discarded()) return Set(key, std::move(value));
    MergeObjects(into, from);
    *old = into.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  std::string Render() const {
    size_t n = 2;
    for (const auto& [k, v] : fields_) n += k.size() + v.size() + 4;
    std::string out;
    out.reserve(n + 16);
    out += '{';
    for (const auto& [k, v] : fields_) {
      if (out.size() > 1) out += ',';
      AppendJsonString(out, k);
      out += ':';
      out += v;
    }
    out += '}';
    return out;
  }

 private:
  std::string* Find(std::string_view key) {
    for (auto& [k, v] : fields_)
      if (k == key) return &v;
    return nullptr;
  }
  static void MergeObjects(json& into, const json& from) {
    for (auto it = from.begin(); it != from.end(); ++it) {
      if (it.value().is_object() && into.contains(it.key()) && into[it.key()].is_object()) MergeObjects(into[it.key()], it.value());
      else into[it.key()] = it.value();
    }
  }
  std::vector<std::pair<std::string, std::string>> fields_;
};

std::string Quoted(std::string_view s) {
  std::string out;
  AppendJsonString(out, s);
  return out;
}

void RenderPart(JsonWriter& w, const ContentPart& p) {
  w.BeginObject();
  switch (p.kind) {
    case ContentPart::Kind::kText:
      w.Key("type").String("text").Key("text").String(p.text);
      break;
    case ContentPart::Kind::kImage: {
      w.Key("type").String("image_url").Key("image_url").BeginObject().Key("url");
      if (p.data.empty()) w.String(p.text);
      else w.String("data:" + (p.mime.empty() ? std::string("image/png") : p.mime) + ";base64," + Base64Encode(p.data));
      w.EndObject();
      break;
    }
    case ContentPart::Kind::kAudio: {
      const char* format = p.mime.find("mp3") != std::string::npos ? "mp3" : "wav";
      w.Key("type").String("input_audio").Key("input_audio").BeginObject()
          .Key("data").String(Base64Encode(p.data)).Key("format").String(format).EndObject();
      break;
    }
  }
  w.EndObject();
}

void RenderMessage(JsonWriter& w, const Message& m, Flavor flavor, bool thinking_on) {
  w.BeginObject().Key("role").String(m.role).Key("content");
  bool text_only = m.parts.size() == 1 && m.parts[0].kind == ContentPart::Kind::kText;
  if (text_only) {
    w.String(m.parts[0].text);
  } else if (m.parts.empty()) {
    if (m.tool_calls.empty()) w.String("");
    else w.Null();
  } else {
    w.BeginArray();
    for (const auto& p : m.parts) RenderPart(w, p);
    w.EndArray();
  }
  if (!m.name.empty()) w.Key("name").String(m.name);
  if (!m.tool_call_id.empty()) w.Key("tool_call_id").String(m.tool_call_id);
  if (!m.tool_calls.empty()) w.Key("tool_calls").Raw(m.tool_calls);  // as the model or client wrote them
  // The hosted K2.5 refuses a thinking-mode assistant tool call without its reasoning, even "".
  bool must_carry = flavor == Flavor::kMoonshot && thinking_on && !m.tool_calls.empty();
  if (!m.reasoning.empty() || must_carry) {
    if (flavor == Flavor::kVllm) w.Key("reasoning");
    else w.Key("reasoning_content");
    w.String(m.reasoning);
  }
  w.EndObject();
}

void RenderThinking(BodyFields& body, Flavor flavor, bool on) {
  const char* b = on ? "true" : "false";
  switch (flavor) {
    case Flavor::kMoonshot: body.Set("thinking", on ? R"({"type":"enabled"})" : R"({"type":"disabled"})"); break;
    case Flavor::kVllm: body.Merge("chat_template_kwargs", fmt::format(R"({{"thinking":{},"enable_thinking":{}}})", b, b)); break;
    case Flavor::kSglang: body.Merge("chat_template_kwargs", fmt::format(R"({{"thinking":{}}})", b)); break;
    case Flavor::kLlamaServer: body.Merge("chat_template_kwargs", fmt::format(R"({{"enable_thinking":{}}})", b)); break;
    case Flavor::kOpenAI: break;  // no boolean switch in OpenAI's API
  }
}

// Sampling fields lingxi's caller changed from the defaults, unless the client sent them.
void RenderSampling(BodyFields& body, const SamplingParams& s, Flavor flavor) {
  const SamplingParams d;
  auto number = [&](const char* key, float v, bool changed) {
    if (changed) body.SetIfAbsent(key, fmt::format("{}", v));  // shortest form of the float: 0.6, not 0.6000000238
  };
  number("temperature", s.temperature, s.temperature != d.temperature);
  number("top_p", s.top_p, s.top_p != d.top_p);
  number("presence_penalty", s.presence_penalty, s.presence_penalty != d.presence_penalty);
  number("frequency_penalty", s.frequency_penalty, s.frequency_penalty != d.frequency_penalty);
  if (s.max_tokens > 0) body.SetIfAbsent("max_tokens", std::to_string(s.max_tokens));
  if (s.seed) body.SetIfAbsent("seed", std::to_string(*s.seed));
  if (!s.stop.empty()) {
    JsonWriter w;
    w.BeginArray();
    for (const auto& stop : s.stop) w.String(stop);
    w.EndArray();
    body.SetIfAbsent("stop", w.Take());
  }
  if (!s.json_schema.empty())
    body.SetIfAbsent("response_format", R"({"type":"json_schema","json_schema":{"name":"output","schema":)" + s.json_schema + "}}");
  else if (s.json_object)
    body.SetIfAbsent("response_format", R"({"type":"json_object"})");
  if (HasFamilyExtensions(flavor)) {
    if (s.top_k != d.top_k) body.SetIfAbsent("top_k", std::to_string(s.top_k));
    number("min_p", s.min_p, s.min_p != d.min_p);
    number("repetition_penalty", s.repeat_penalty, s.repeat_penalty != d.repeat_penalty);
    if (s.ignore_eos) body.SetIfAbsent("ignore_eos", "true");
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

// `padded`: `text` may be read up to SIMDJSON_PADDING bytes past its end (no copy needed).
Result<UpstreamEvent> ParseObject(std::string_view text, bool stream, bool padded = false) {
  thread_local sj::parser parser;
  sj::object j;
  if (parser.parse(text.data(), text.size(), !padded).get_object().get(j) != simdjson::SUCCESS)
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
  BodyFields body;
  body.Set("model", Quoted(options.model));
  std::optional<bool> thinking = request.thinking ? request.thinking : options.thinking;
  if (request.prompt) {
    body.Set("prompt", Quoted(*request.prompt));
  } else {
    JsonWriter w;
    w.BeginArray();
    for (const auto& m : request.messages) RenderMessage(w, m, options.flavor, thinking.value_or(true));
    w.EndArray();
    body.Set("messages", w.Take());
  }
  for (const auto& [key, value] : request.passthrough) body.Set(key, value);
  if (!request.tools.empty()) body.Set("tools", request.tools);
  if (!request.tool_choice.empty()) body.Set("tool_choice", request.tool_choice);
  RenderSampling(body, request.sampling, options.flavor);
  if (thinking && !request.prompt) RenderThinking(body, options.flavor, *thinking);
  if (!options.extra_body.empty()) {
    json extra = json::parse(options.extra_body, nullptr, false);
    if (extra.is_object())
      for (auto it = extra.begin(); it != extra.end(); ++it)
        body.Merge(it.key(), it.value().dump(-1, ' ', false, json::error_handler_t::replace));
  }
  body.Set("model", Quoted(options.model));  // never the client's alias
  body.Set("stream", stream ? "true" : "false");
  if (stream) body.Set("stream_options", R"({"include_usage":true})");  // usage is what cost is made of
  else body.Erase("stream_options");
  return body.Render();
}

Result<UpstreamEvent> ParseCompletionBody(const std::string& body) {
  return ParseObject(body, false, body.capacity() - body.size() >= simdjson::SIMDJSON_PADDING);
}

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
