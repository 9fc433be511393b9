// The route table: every path lingxi serves, one line each, in routes.cpp.
// Handlers live in one small file per family: system_handlers.cpp, generation_handlers.cpp,
// model_handlers.cpp.
#pragma once

#include <string>
#include <vector>

#include "core/readiness.h"
#include "http/router.h"
#include "metrics/registry.h"
#include "pipeline/pipeline.h"

namespace lingxi::api {

// What handlers need; owned by main, outlives the server.
struct ApiContext {
  Readiness* readiness = nullptr;
  metrics::Metrics* metrics = nullptr;
  pipeline::Pipeline* pipeline = nullptr;
  std::vector<std::string> trusted_proxies;  // rate_limit.trusted_proxies
};

http::Router BuildRouter(ApiContext& ctx);

// Handler families.
http::Handler HealthHandler(ApiContext& ctx);
http::Handler ReadyHandler(ApiContext& ctx);
http::Handler MetricsHandler(ApiContext& ctx);
http::Handler ChatCompletionsHandler(ApiContext& ctx);
http::Handler CompletionsHandler(ApiContext& ctx);
http::Handler PredictHandler(ApiContext& ctx);
http::Handler ListModelsHandler(ApiContext& ctx);
http::Handler GetModelHandler(ApiContext& ctx);
http::Handler EmbeddingsHandler(ApiContext& ctx);

}  // namespace lingxi::api
