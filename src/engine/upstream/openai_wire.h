// What goes over the wire to an OpenAI-compatible upstream and what comes back, with each
// server family's differences (../../docs/upstreams.md lists them):
//   - reasoning text arrives as `reasoning` (vLLM) or `reasoning_content` (SGLang, Moonshot,
//     llama-server) and becomes ChatChunk::reasoning either way;
//   - lingxi's one thinking switch goes out as `chat_template_kwargs` (vLLM, SGLang,
//     llama-server) or a top-level `thinking` object (Moonshot);
//   - tool calls and their ids travel as JSON text, never rebuilt, so ids like
//     `functions.get_weather:0` come back byte-exact.
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "engine/types.h"

namespace lingxi::engine::upstream {

enum class Flavor { kOpenAI, kVllm, kSglang, kLlamaServer, kMoonshot };
Result<Flavor> ParseFlavor(std::string_view name);  // "openai", "vllm", "sglang", "llama-server", "moonshot"
const char* FlavorName(Flavor f);
// The flavor a server shows itself as: `owned_by` of its /v1/models entries, or the host.
Flavor DetectFlavor(std::string_view owned_by, std::string_view host);

struct WireOptions {
  std::string model;              // the upstream's name for the model
  Flavor flavor = Flavor::kOpenAI;
  std::string extra_body;         // JSON object text merged into every request body; "" = none
  std::optional<bool> thinking;   // default when a request does not say; nullopt = the server's
};

// The body of POST {base}/chat/completions, or {base}/completions for a prompt request.
// Sampling fields are sent only when the client set them (`passthrough`) or lingxi's caller
// changed them from the defaults, so hosted APIs that accept only their own values work.
std::string RenderRequestBody(const ChatRequest& request, const WireOptions& options, bool stream);

// One parsed piece of an upstream answer.
struct UpstreamEvent {
  std::string delta;
  std::string reasoning;
  std::string tool_calls;  // JSON array text, as the upstream wrote it
  std::optional<FinishReason> finish;
  std::optional<Usage> usage;
  bool done = false;       // "[DONE]"
};

// A whole non-streamed answer (chat.completion or text_completion). A body with 64 bytes of
// spare capacity (ClientResponse::ReadAll leaves them) is parsed without a copy.
Result<UpstreamEvent> ParseCompletionBody(const std::string& body);
// The data of one SSE event of a streamed answer.
Result<UpstreamEvent> ParseStreamEvent(std::string_view data);

// The Status for an upstream error answer: its message, and a code saying whose fault it is
// (4xx of the request -> InvalidArgument/NotFound/PayloadTooLarge, credentials ->
// BadGateway, 429 and 5xx -> Unavailable, which may be retried elsewhere).
Status UpstreamError(int http_status, std::string_view body, std::string_view upstream);
// True for failures another replica (or a later try) may not have.
bool Retryable(const Status& s);

}  // namespace lingxi::engine::upstream
