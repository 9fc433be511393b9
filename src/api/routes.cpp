#include "api/routes.h"

namespace lingxi::api {

http::Router BuildRouter(ApiContext& ctx) {
  http::Router r;
  r.Add("GET", "/health", HealthHandler(ctx));
  r.Add("GET", "/ready", ReadyHandler(ctx));
  r.Add("GET", "/metrics", MetricsHandler(ctx));
  return r;
}

}  // namespace lingxi::api
