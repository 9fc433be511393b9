// Engine: anything that turns a ChatRequest into ChatChunks: the embedded llama.cpp engine
// (engine/llama), OpenAI-compatible upstreams (engine/upstream), heads (engine/head).
//
// Implementations are thread-safe: Submit() and Embed() are called from any I/O thread.
// Results come back through a Mailbox bound to the caller's executor. Stop() must be called
// before the caller's event loops are destroyed; after it, Submit fails with Unavailable.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/mailbox.h"
#include "engine/types.h"

namespace lingxi::engine {

using ChunkStream = Mailbox<ChatChunk>;
using EmbeddingResult = Mailbox<Result<Embedding>>;

struct EngineInfo {
  std::string id;            // the served model id ("qwen2.5-vl-7b-instruct-q4_k_m")
  std::string owned_by = "lingxi";
  std::vector<std::string> aliases;  // other ids that find this model
  std::vector<std::string> fallback;  // models that answer, in order, when this one cannot
  int64_t created = 0;       // unix seconds when it loaded
  int context_length = 0;    // tokens per sequence
  int parallel = 0;          // sequences decoded together
  bool embeddings = false;   // Embed() is supported
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual EngineInfo info() const = 0;

  // Queues `request`. The returned stream yields the answer; Cancel() on it (or the client
  // leaving) frees the request's resources at the next step. Fails at once with Unavailable
  // when the waiting queue is full or the engine is not ready, InvalidArgument for a request
  // it cannot serve (prompt longer than the context, bad grammar, ...).
  virtual Result<std::shared_ptr<ChunkStream>> Submit(ChatRequest request, boost::asio::any_io_executor executor) = 0;

  // Embeds each input (pooled, L2-normalized). One value is pushed to the result.
  virtual Result<std::shared_ptr<EmbeddingResult>> Embed(std::vector<std::string> inputs,
                                                         boost::asio::any_io_executor executor) = 0;

  virtual void Stop() = 0;
};

}  // namespace lingxi::engine
