#include "api/openai_response.h"

#include "api/json_response.h"

namespace lingxi::api {

using nlohmann::json;

json UsageJson(const engine::ChatChunk& c) {
  return {{"prompt_tokens", c.usage.prompt_tokens},
          {"completion_tokens", c.usage.completion_tokens},
          {"total_tokens", c.usage.prompt_tokens + c.usage.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", c.usage.cached_prompt_tokens}}}};
}

namespace {

// llama-server's "timings" extension: what was computed versus reused.
json TimingsJson(const engine::ChatChunk& c) {
  return {{"cache_n", c.usage.cached_prompt_tokens},
          {"prompt_n", c.timings.prompt_processed},
          {"prompt_ms", c.timings.prompt_ms},
          {"predicted_n", c.usage.completion_tokens},
          {"predicted_ms", c.timings.generation_ms},
          {"queue_ms", c.timings.queue_ms}};
}

}  // namespace

void PutReasoning(json& into, const ResponseMeta& meta, const std::string& reasoning) {
  if (reasoning.empty()) return;
  if (meta.reasoning_field != "reasoning") into["reasoning_content"] = reasoning;
  if (meta.reasoning_field != "reasoning_content") into["reasoning"] = reasoning;
}

json CompletionJson(const ResponseMeta& meta, const Collected& answer) {
  const auto& c = answer.last;
  const char* finish = engine::FinishReasonName(c.finish.value_or(engine::FinishReason::kStop));
  json choice = {{"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish}};
  if (meta.endpoint == Endpoint::kChat) {
    json message = {{"role", "assistant"}, {"content", answer.text}};
    if (!answer.tool_calls.empty()) {
      message["tool_calls"] = json::parse(answer.tool_calls, nullptr, false);
      if (answer.text.empty()) message["content"] = nullptr;
    }
    PutReasoning(message, meta, answer.reasoning);
    choice["message"] = std::move(message);
  } else {
    choice["text"] = answer.text;
  }
  return {{"id", meta.id},
          {"object", meta.endpoint == Endpoint::kChat ? "chat.completion" : "text_completion"},
          {"created", meta.created},
          {"model", meta.model},
          {"choices", json::array({choice})},
          {"usage", UsageJson(c)},
          {"timings", TimingsJson(c)}};
}

json ChunkJson(const ResponseMeta& meta, const engine::ChatChunk* piece, const char* finish, bool role_only) {
  json choice = {{"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish ? json(finish) : json(nullptr)}};
  if (meta.endpoint == Endpoint::kChat) {
    json d = json::object();
    if (role_only) {
      d["role"] = "assistant";
      d["content"] = "";
    } else if (piece) {
      if (!piece->delta.empty() || (piece->reasoning.empty() && piece->tool_calls.empty())) d["content"] = piece->delta;
      PutReasoning(d, meta, piece->reasoning);
      if (!piece->tool_calls.empty()) d["tool_calls"] = json::parse(piece->tool_calls, nullptr, false);
    }
    choice["delta"] = std::move(d);
  } else {
    choice["text"] = piece ? piece->delta : "";
  }
  return {{"id", meta.id},
          {"object", meta.endpoint == Endpoint::kChat ? "chat.completion.chunk" : "text_completion"},
          {"created", meta.created},
          {"model", meta.model},
          {"choices", json::array({choice})}};
}

std::string SseEvent(const json& j) { return "data: " + JsonText(j) + "\n\n"; }

}  // namespace lingxi::api
