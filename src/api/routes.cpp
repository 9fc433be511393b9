#include "api/routes.h"

#include "api/admission.h"

namespace lingxi::api {

http::Router BuildRouter(ApiContext& ctx) {
  http::Router r;
  r.Add("GET", "/health", HealthHandler(ctx));
  r.Add("GET", "/ready", ReadyHandler(ctx));
  r.Add("GET", "/metrics", MetricsHandler(ctx));
  // Model endpoints pass the admission stage (rate limits) first.
  r.Add("POST", "/predict", Admitted(ctx, PredictHandler(ctx)));
  r.Add("POST", "/v1/chat/completions", Admitted(ctx, ChatCompletionsHandler(ctx)));
  r.Add("POST", "/v1/completions", Admitted(ctx, CompletionsHandler(ctx)));
  r.Add("GET", "/v1/models", ListModelsHandler(ctx));
  r.Add("GET", "/v1/models/{id}", GetModelHandler(ctx));
  r.Add("POST", "/v1/embeddings", Admitted(ctx, EmbeddingsHandler(ctx)));
  return r;
}

}  // namespace lingxi::api
