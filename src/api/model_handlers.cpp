// GET /v1/models, GET /v1/models/{id}, POST /v1/embeddings.
#include <nlohmann/json.hpp>

#include <boost/asio/this_coro.hpp>

#include <cstring>

#include "api/errors.h"
#include "api/json_response.h"
#include "api/openai_request.h"
#include "api/routes.h"
#include "core/base64.h"

namespace lingxi::api {
namespace {

using nlohmann::json;

json ModelJson(const engine::EngineInfo& m) {
  return {{"id", m.id}, {"object", "model"}, {"created", m.created}, {"owned_by", m.owned_by},
          {"meta", {{"context_length", m.context_length}, {"parallel", m.parallel}, {"embeddings", m.embeddings}}}};
}

}  // namespace

http::Handler ListModelsHandler(ApiContext& ctx) {
  return [&ctx](http::Request&) -> http::Task<http::Response> {
    json data = json::array();
    for (const auto& m : ctx.pipeline->models().List()) data.push_back(ModelJson(m));
    co_return JsonResponse(200, json{{"object", "list"}, {"data", std::move(data)}});
  };
}

http::Handler GetModelHandler(ApiContext& ctx) {
  return [&ctx](http::Request& req) -> http::Task<http::Response> {
    std::string id(req.PathParam("id"));
    for (const auto& m : ctx.pipeline->models().List())
      if (m.id == id) co_return JsonResponse(200, ModelJson(m));
    co_return ErrorResponse(Status::NotFound("The model '" + id + "' does not exist"));
  };
}

http::Handler EmbeddingsHandler(ApiContext& ctx) {
  return [&ctx](http::Request& req) -> http::Task<http::Response> {
    auto parsed = ParseEmbeddings(req.body);
    if (!parsed.ok()) co_return ErrorResponse(parsed.status());
    auto started = ctx.pipeline->Embed(req.principal, parsed->model, std::move(parsed->inputs),
                                       co_await boost::asio::this_coro::executor);
    if (!started.ok()) co_return ErrorResponse(started.status());
    auto result = co_await started->result->Next();
    if (!result) co_return ErrorResponse(Status::Unavailable("the engine stopped"));
    if (!result->ok()) co_return ErrorResponse(result->status());
    json data = json::array();
    for (size_t i = 0; i < (*result)->vectors.size(); ++i) {
      const auto& v = (*result)->vectors[i];
      json item = {{"object", "embedding"}, {"index", i}};
      if (parsed->base64) {
        // Little-endian float32, as OpenAI sends it (x86 and ARM are little-endian).
        item["embedding"] = Base64Encode(std::string_view(reinterpret_cast<const char*>(v.data()), v.size() * 4));
      } else {
        item["embedding"] = v;
      }
      data.push_back(std::move(item));
    }
    int tokens = (*result)->prompt_tokens;
    json body = {{"object", "list"},
                 {"data", std::move(data)},
                 {"model", started->model.id},
                 {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}};
    co_return JsonResponse(200, body);
  };
}

}  // namespace lingxi::api
