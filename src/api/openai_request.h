// Wire JSON -> engine::ChatRequest for /v1/chat/completions, /v1/completions and /predict,
// and the input of /v1/embeddings. Every rejection is InvalidArgument naming the field.
// Stateless; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "engine/types.h"

namespace lingxi::api {

struct ParsedChat {
  engine::ChatRequest request;
  bool include_usage = false;  // stream_options.include_usage
  std::string reasoning_field = "reasoning_content";  // reasoning_content | reasoning | both
};

Result<ParsedChat> ParseChatCompletion(const std::string& body);
Result<ParsedChat> ParseCompletion(const std::string& body);
// {"text": "..."} or {"messages": [...]}, optional "images" and "params" (sampling fields).
Result<ParsedChat> ParsePredict(const std::string& body);

struct ParsedEmbedding {
  std::string model;
  std::vector<std::string> inputs;
  bool base64 = false;  // encoding_format "base64" (the openai SDKs' default)
};
Result<ParsedEmbedding> ParseEmbeddings(const std::string& body);

}  // namespace lingxi::api
