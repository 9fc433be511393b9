#include "api/openai_response.h"

#include "api/json_response.h"

namespace lingxi::api {

using namespace std::string_view_literals;

namespace {

void WriteReasoning(JsonWriter& w, const ResponseMeta& meta, const std::string& reasoning) {
  if (reasoning.empty()) return;
  if (meta.reasoning_field != "reasoning") w.Key("reasoning_content").String(reasoning);
  if (meta.reasoning_field != "reasoning_content") w.Key("reasoning").String(reasoning);
}

// llama-server's "timings" extension: what was computed versus reused.
void WriteTimings(JsonWriter& w, const engine::ChatChunk& c) {
  w.BeginObject()
      .Key("cache_n").Int(c.usage.cached_prompt_tokens)
      .Key("prompt_n").Int(c.timings.prompt_processed)
      .Key("prompt_ms").Fixed3(c.timings.prompt_ms)
      .Key("predicted_n").Int(c.usage.completion_tokens)
      .Key("predicted_ms").Fixed3(c.timings.generation_ms)
      .Key("queue_ms").Fixed3(c.timings.queue_ms)
      .EndObject();
}

void WriteHead(JsonWriter& w, const ResponseMeta& meta, bool chunk) {
  const char* object = meta.endpoint == Endpoint::kCompletion ? "text_completion"
                       : chunk                               ? "chat.completion.chunk"
                                                             : "chat.completion";
  w.Key("id").String(meta.id).Key("object").String(object).Key("created").Int(meta.created).Key("model").String(meta.model);
}

std::string Event(const JsonWriter& w) {
  std::string out;
  out.reserve(w.text().size() + 8);
  out += "data: "sv;
  out += w.text();
  out += "\n\n"sv;
  return out;
}

}  // namespace

void WriteUsage(JsonWriter& w, const engine::ChatChunk& c) {
  w.BeginObject()
      .Key("prompt_tokens").Int(c.usage.prompt_tokens)
      .Key("completion_tokens").Int(c.usage.completion_tokens)
      .Key("total_tokens").Int(c.usage.prompt_tokens + c.usage.completion_tokens)
      .Key("prompt_tokens_details").BeginObject().Key("cached_tokens").Int(c.usage.cached_prompt_tokens).EndObject()
      .EndObject();
}

std::string CompletionBody(const ResponseMeta& meta, const Collected& answer) {
  const auto& c = answer.last;
  JsonWriter w;
  w.BeginObject();
  WriteHead(w, meta, false);
  w.Key("choices").BeginArray().BeginObject().Key("index").Int(0);
  if (meta.endpoint == Endpoint::kChat) {
    w.Key("message").BeginObject().Key("role").String("assistant").Key("content");
    if (answer.text.empty() && !answer.tool_calls.empty()) w.Null();
    else w.String(answer.text);
    WriteReasoning(w, meta, answer.reasoning);
    if (!answer.tool_calls.empty()) w.Key("tool_calls").Raw(answer.tool_calls);
    w.EndObject();
  } else {
    w.Key("text").String(answer.text);
  }
  w.Key("logprobs").Null().Key("finish_reason").String(engine::FinishReasonName(c.finish.value_or(engine::FinishReason::kStop)));
  w.EndObject().EndArray();
  w.Key("usage");
  WriteUsage(w, c);
  w.Key("timings");
  WriteTimings(w, c);
  w.EndObject();
  return w.Take();
}

std::string ChunkEvent(const ResponseMeta& meta, const engine::ChatChunk* piece, const char* finish, bool role_only) {
  JsonWriter w;
  w.BeginObject();
  WriteHead(w, meta, true);
  w.Key("choices").BeginArray().BeginObject().Key("index").Int(0);
  if (meta.endpoint == Endpoint::kChat) {
    w.Key("delta").BeginObject();
    if (role_only) {
      w.Key("role").String("assistant").Key("content").String("");
    } else if (piece) {
      if (!piece->delta.empty() || (piece->reasoning.empty() && piece->tool_calls.empty()))
        w.Key("content").String(piece->delta);
      WriteReasoning(w, meta, piece->reasoning);
      if (!piece->tool_calls.empty()) w.Key("tool_calls").Raw(piece->tool_calls);
    }
    w.EndObject();
  } else {
    w.Key("text").String(piece ? piece->delta : "");
  }
  w.Key("logprobs").Null().Key("finish_reason");
  if (finish) w.String(finish);
  else w.Null();
  w.EndObject().EndArray().EndObject();
  return Event(w);
}

std::string UsageEvent(const ResponseMeta& meta, const engine::ChatChunk& final_chunk) {
  JsonWriter w;
  w.BeginObject();
  WriteHead(w, meta, true);
  w.Key("choices").BeginArray().EndArray().Key("usage");
  WriteUsage(w, final_chunk);
  w.EndObject();
  return Event(w);
}

std::string SseEvent(const nlohmann::json& j) { return "data: " + JsonText(j) + "\n\n"; }

}  // namespace lingxi::api
