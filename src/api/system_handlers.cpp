// /health, /ready and /metrics: what orchestrators and Prometheus poll.
#include <nlohmann/json.hpp>

#include "api/json_response.h"
#include "api/routes.h"
#include "core/version.h"

namespace lingxi::api {
namespace {

const char* PhaseName(ComponentState::Phase p) {
  switch (p) {
    case ComponentState::Phase::kLoading: return "loading";
    case ComponentState::Phase::kReady: return "ready";
    case ComponentState::Phase::kFailed: return "failed";
  }
  return "unknown";
}

}  // namespace

// Liveness: the process answers HTTP. Never depends on engines or Redis.
http::Handler HealthHandler(ApiContext&) {
  return [](http::Request&) -> http::Task<http::Response> {
    co_return http::Response::Json(200, R"({"status":"ok","version":")" LINGXI_VERSION R"("})");
  };
}

// Readiness: 200 only when every registered component has loaded; 503 with progress before.
http::Handler ReadyHandler(ApiContext& ctx) {
  return [&ctx](http::Request&) -> http::Task<http::Response> {
    nlohmann::json components = nlohmann::json::array();
    for (const auto& c : ctx.readiness->Snapshot()) {
      nlohmann::json j = {{"name", c.name}, {"state", PhaseName(c.phase)}, {"stage", c.stage}, {"progress", c.progress}};
      if (!c.error.empty()) j["error"] = c.error;
      components.push_back(std::move(j));
    }
    bool ready = ctx.readiness->AllReady();
    nlohmann::json body = {{"status", ready ? "ready" : "loading"}, {"components", std::move(components)}};
    auto res = JsonResponse(ready ? 200 : 503, body);
    if (!ready) res.headers.Set("Retry-After", "1");
    co_return res;
  };
}

http::Handler MetricsHandler(ApiContext& ctx) {
  return [&ctx](http::Request&) -> http::Task<http::Response> {
    co_return http::Response::Text(200, ctx.metrics->Serialize(), "text/plain; version=0.0.4; charset=utf-8");
  };
}

}  // namespace lingxi::api
