// engine results -> OpenAI wire JSON: completion objects, stream chunks (SSE), usage.
// Stateless; thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

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

nlohmann::json UsageJson(const engine::ChatChunk& final_chunk);
// The whole non-streamed answer.
nlohmann::json CompletionJson(const ResponseMeta& meta, const Collected& answer);
// One stream chunk: a piece of text, reasoning or tool calls (`piece`), the role opener
// (`role_only`), or the finish (with `finish`).
nlohmann::json ChunkJson(const ResponseMeta& meta, const engine::ChatChunk* piece, const char* finish, bool role_only);
// "data: <json>\n\n"
std::string SseEvent(const nlohmann::json& j);

}  // namespace lingxi::api
