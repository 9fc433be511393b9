#include "api/routes.h"

namespace lingxi::api {

http::Router BuildRouter(ApiContext& ctx) {
  http::Router r;
  r.Add("GET", "/health", HealthHandler(ctx));
  r.Add("GET", "/ready", ReadyHandler(ctx));
  r.Add("GET", "/metrics", MetricsHandler(ctx));
  r.Add("POST", "/predict", PredictHandler(ctx));
  r.Add("POST", "/v1/chat/completions", ChatCompletionsHandler(ctx));
  r.Add("POST", "/v1/completions", CompletionsHandler(ctx));
  r.Add("GET", "/v1/models", ListModelsHandler(ctx));
  r.Add("GET", "/v1/models/{id}", GetModelHandler(ctx));
  r.Add("POST", "/v1/embeddings", EmbeddingsHandler(ctx));
  return r;
}

}  // namespace lingxi::api
