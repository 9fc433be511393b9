// Engine: anything that turns a ChatRequest into ChatChunks: the embedded llama.cpp engine
// (engine/llama), OpenAI-compatible upstreams (engine/upstream), heads (engine/head).
//
// Implementations are thread-safe: Submit() and Embed() are called from any I/O thread.
// Answers come back as a ChunkStream the caller pulls on its executor. Stop() must be called
// before the caller's event loops are destroyed; after it, Submit fails with Unavailable.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/mailbox.h"
#include "engine/types.h"

namespace lingxi::engine {

// The chunks of one answer, pulled by one consumer on the executor given to Submit(). The
// last chunk has `finish` set; Next() returns nullopt after it.
class ChunkStream {
 public:
  virtual ~ChunkStream() = default;
  virtual http::Task<std::optional<ChatChunk>> Next() = 0;
  // A chunk that is already there, without a suspension; nullopt: call Next().
  virtual std::optional<ChatChunk> TryNext() = 0;
  // The consumer gives up (its client left): the engine stops at its next step and frees
  // what the request holds. On the consumer's executor.
  virtual void Cancel() = 0;
};

// A ChunkStream filled by a producer that runs apart from the consumer: the embedded engine's
// inference thread, or a cache replay. The producer uses the Mailbox side (Push, Close,
// cancelled).
class MailboxStream final : public ChunkStream, public Mailbox<ChatChunk> {
 public:
  using Mailbox<ChatChunk>::Mailbox;
  http::Task<std::optional<ChatChunk>> Next() override { return Mailbox<ChatChunk>::Next(); }
  std::optional<ChatChunk> TryNext() override { return Mailbox<ChatChunk>::TryNext(); }
  void Cancel() override { Mailbox<ChatChunk>::Cancel(); }
};

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
