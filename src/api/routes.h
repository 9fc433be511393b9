// The route table: every path lingxi serves, one line each, in routes.cpp.
// Handlers live in one small file per family (system_handlers.cpp, ...).
#pragma once

#include "core/readiness.h"
#include "http/router.h"
#include "metrics/registry.h"

namespace lingxi::api {

// What handlers need; owned by main, outlives the server.
struct ApiContext {
  Readiness* readiness = nullptr;
  metrics::Metrics* metrics = nullptr;
};

http::Router BuildRouter(ApiContext& ctx);

// Handler families.
http::Handler HealthHandler(ApiContext& ctx);
http::Handler ReadyHandler(ApiContext& ctx);
http::Handler MetricsHandler(ApiContext& ctx);

}  // namespace lingxi::api
