#include "pipeline/pipeline.h"

namespace lingxi::pipeline {

Result<Started> Pipeline::Generate(engine::ChatRequest request, boost::asio::any_io_executor executor) {
  auto engine = models_.Find(request.model);
  if (!engine.ok()) return engine.status();
  auto stream = (*engine)->Submit(std::move(request), std::move(executor));
  if (!stream.ok()) return stream.status();
  return Started{(*engine)->info(), std::move(*stream)};
}

Result<Pipeline::EmbedStarted> Pipeline::Embed(const std::string& model, std::vector<std::string> inputs,
                                               boost::asio::any_io_executor executor) {
  auto engine = models_.Find(model);
  if (!engine.ok()) return engine.status();
  auto result = (*engine)->Embed(std::move(inputs), std::move(executor));
  if (!result.ok()) return result.status();
  return EmbedStarted{(*engine)->info(), std::move(*result)};
}

}  // namespace lingxi::pipeline
