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
};

nlohmann::json UsageJson(const engine::ChatChunk& final_chunk);
// The whole non-streamed answer.
nlohmann::json CompletionJson(const ResponseMeta& meta, const std::string& text, const engine::ChatChunk& final_chunk);
// One stream chunk: a delta, the role opener (`role_only`), or the finish (with `finish`).
nlohmann::json ChunkJson(const ResponseMeta& meta, const std::string& delta, const char* finish, bool role_only);
// "data: <json>\n\n"
std::string SseEvent(const nlohmann::json& j);

}  // namespace lingxi::api
