// The request and result types every engine speaks: a ChatRequest in, ChatChunks out.
//
// api/ parses wire JSON into a ChatRequest once; everything after that (pipeline, cache,
// engines, bot) works on these plain values. No JSON here: converting to OpenAI's format
// happens only in api/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace lingxi::engine {

struct ContentPart {
  enum class Kind { kText, kImage, kAudio };
  Kind kind = Kind::kText;
  std::string text;  // kText
  std::string data;  // kImage/kAudio: raw bytes
  std::string mime;  // "image/png", "audio/wav"
};

struct Message {
  std::string role;  // "system", "user", "assistant", "tool"
  std::vector<ContentPart> parts;
  std::string reasoning;     // assistant: its reasoning text, carried back on later turns
  std::string tool_calls;    // assistant: the `tool_calls` array as JSON text, kept verbatim
  std::string tool_call_id;  // tool: the call this message answers, byte-exact
  std::string name;          // optional participant or tool name
  // The text parts joined; what a text-only template sees.
  std::string Text() const;
  // A message of one text part.
  static Message OfText(std::string role, std::string text);
};

// Per-request sampling. Defaults are llama.cpp's server defaults.
struct SamplingParams {
  float temperature = 0.8f;  // <= 0: greedy
  float top_p = 0.95f;       // 1: off
  int top_k = 40;            // <= 0: off
  float min_p = 0.05f;       // 0: off
  float repeat_penalty = 1.0f;    // 1: off
  float presence_penalty = 0.0f;  // 0: off
  float frequency_penalty = 0.0f;  // 0: off
  int penalty_last_n = 64;
  std::optional<uint32_t> seed;  // same seed + same request => same output
  int max_tokens = -1;           // -1: until the context is full
  std::vector<std::string> stop;  // generation ends before any of these
  std::string grammar;      // GBNF; empty: none
  std::string json_schema;  // JSON Schema text; converted to a grammar by the engine
  bool json_object = false;  // any JSON object (response_format json_object)
  bool ignore_eos = false;   // keep generating past end-of-generation tokens (benchmarks)
};

struct ChatRequest {
  std::string model;               // the id the client asked for ("default" allowed)
  std::vector<Message> messages;   // chat form
  std::optional<std::string> prompt;  // raw completion form (no chat template)
  SamplingParams sampling;
  bool stream = false;
  std::string request_id;
  std::optional<bool> thinking;  // reasoning on/off; each upstream gets it in its own form
  std::string tools;             // the `tools` array as JSON text; "" = none
  std::string tool_choice;       // JSON text; "" = the server's default
  // Other OpenAI fields lingxi does not interpret (logprobs, user, parallel_tool_calls, ...),
  // in the client's order, as (name, value as JSON text); forwarded to upstreams as they are.
  std::vector<std::pair<std::string, std::string>> passthrough;
  // Keeps one conversation on one upstream replica (its prefix cache). "" = derived from
  // the first messages.
  std::string session;
  bool cache = true;  // false: neither answered from nor stored in the response cache
  std::string api_key;  // the caller's API key by name ("" in open mode): what it may use
};

enum class FinishReason { kStop, kLength, kToolCalls, kCancelled, kError };
const char* FinishReasonName(FinishReason r);  // "stop", "length", ...

struct Usage {
  int prompt_tokens = 0;
  int completion_tokens = 0;
  int cached_prompt_tokens = 0;  // reused from the KV cache, not processed again
};

struct Timings {
  double queue_ms = 0;       // waiting for a free sequence slot
  double prompt_ms = 0;      // processing the prompt (until the first token)
  double generation_ms = 0;  // from the first token to the last
  int prompt_processed = 0;  // prompt tokens actually computed this time
};

// One piece of an answer. A stream is: zero or more deltas, then one chunk with `finish`
// set (carrying usage and timings). `error` is set only on a failed final chunk.
struct ChatChunk {
  std::string delta;
  std::string reasoning;   // reasoning text delta (thinking models)
  std::string tool_calls;  // a `tool_calls` delta array as JSON text, verbatim from the model
  std::string served_by;   // on the final chunk: the upstream replica that answered, if any
  std::optional<FinishReason> finish;
  Usage usage;
  Timings timings;
  Status error;
};

struct Embedding {
  std::vector<std::vector<float>> vectors;  // one per input, L2-normalized
  int prompt_tokens = 0;
};

}  // namespace lingxi::engine
