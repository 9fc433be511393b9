// Pipeline: the steps between a parsed request and an engine, in one place. Today: resolve
// the model and submit. Auth, rate limits, the cache and cost accounting join here as stages
// (issue #5), so the REST API, the bot and the console share one path.
// Thread-safe; owned by main.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <memory>

#include "core/status.h"
#include "engine/registry.h"

namespace lingxi::pipeline {

struct Started {
  engine::EngineInfo model;                     // who answers
  std::shared_ptr<engine::ChunkStream> stream;  // the answer
};

class Pipeline {
 public:
  explicit Pipeline(engine::ModelRegistry& models) : models_(models) {}

  Result<Started> Generate(engine::ChatRequest request, boost::asio::any_io_executor executor);
  struct EmbedStarted {
    engine::EngineInfo model;
    std::shared_ptr<engine::EmbeddingResult> result;
  };
  Result<EmbedStarted> Embed(const std::string& model, std::vector<std::string> inputs,
                             boost::asio::any_io_executor executor);
  engine::ModelRegistry& models() { return models_; }

 private:
  engine::ModelRegistry& models_;
};

}  // namespace lingxi::pipeline
