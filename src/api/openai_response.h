// engine results -> OpenAI wire JSON: completion objects, stream chunks (SSE), usage.
// Written with JsonWriter: these run once per request and once per streamed token.
// Stateless; thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "core/json_writer.h"
#include "engine/types.h"

namespace lingxi::api {

enum class Endpoint { kChat, kCompletion };

// What every object of one response shares.
struct ResponseMeta {
  Endpoint endpoint = Endpoint::kChat;
  std::string id;     // "chatcmpl-<request id>"
  std::string model;  // the served model's id
  int64_t created = 0;
  // The name reasoning text goes under: "reasoning_content" (SGLang, DeepSeek, Moonshot),
  // "reasoning" (vLLM) or "both"; the client picks with `reasoning_field`.
  std::string reasoning_field = "reasoning_content";
};

// A whole answer, gathered from its chunks.
struct Collected {
  std::string text;
  std::string reasoning;
  std::string tool_calls;  // JSON array text
  engine::ChatChunk last;  // the final chunk: finish, usage, timings
};

// {"prompt_tokens": ..., "completion_tokens": ..., "total_tokens": ..., "prompt_tokens_details": ...}
void WriteUsage(JsonWriter& w, const engine::ChatChunk& final_chunk);
// The whole non-streamed answer (chat.completion or text_completion).
std::string CompletionBody(const ResponseMeta& meta, const Collected& answer);
// One SSE event "data: {...}\n\n": a piece of text, reasoning or tool calls (`piece`), the
// role opener (`role_only`), or the finish (with `finish`).
std::string ChunkEvent(const ResponseMeta& meta, const engine::ChatChunk* piece, const char* finish, bool role_only);
// The usage-only event of stream_options.include_usage.
std::string UsageEvent(const ResponseMeta& meta, const engine::ChatChunk& final_chunk);
// "data: <json>\n\n" (errors)
std::string SseEvent(const nlohmann::json& j);

}  // namespace lingxi::api
