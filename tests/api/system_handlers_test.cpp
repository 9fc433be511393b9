// /health, /ready and /metrics through the real server and route table.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <sstream>

#include "api/routes.h"
#include "support/http_client.h"
#include "support/test_server.h"

namespace lingxi::api {
namespace {

using testing::Fetch;
using testing::TestServer;

// Parses Prometheus text format samples: "name{labels} value" -> value.
std::map<std::string, double> ParseSamples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

struct Stack {
  Readiness readiness;
  metrics::Metrics metrics;
  metrics::HttpMetrics http_metrics{metrics};
  ApiContext ctx{&readiness, &metrics, nullptr, {}};
  TestServer server{BuildRouter(ctx), TestServer::DefaultOptions(), &http_metrics};
};

TEST(SystemHandlersTest, HealthIsAlwaysOk) {
  Stack s;
  auto r = Fetch(s.server.port(), "GET", "/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body)["status"], "ok");
}

TEST(SystemHandlersTest, ReadyReportsProgressUntilEveryComponentHasLoaded) {
  Stack s;
  auto engine = s.readiness.Register("engine:demo");
  engine.Stage("base model", 0.4);

  auto loading = Fetch(s.server.port(), "GET", "/ready");
  EXPECT_EQ(loading.status, 503);
  EXPECT_EQ(loading.Header("retry-after"), "1");
  auto j = nlohmann::json::parse(loading.body);
  EXPECT_EQ(j["status"], "loading");
  EXPECT_EQ(j["components"][0]["name"], "engine:demo");
  EXPECT_EQ(j["components"][0]["stage"], "base model");
  EXPECT_DOUBLE_EQ(j["components"][0]["progress"].get<double>(), 0.4);

  engine.Ready();
  auto ready = Fetch(s.server.port(), "GET", "/ready");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(nlohmann::json::parse(ready.body)["components"][0]["state"], "ready");
}

TEST(SystemHandlersTest, ReadyStays503WhenALoadFailed) {
  Stack s;
  s.readiness.Register("engine:broken").Failed("model.gguf: not a GGUF file");
  auto r = Fetch(s.server.port(), "GET", "/ready");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(nlohmann::json::parse(r.body)["components"][0]["error"], "model.gguf: not a GGUF file");
}

TEST(SystemHandlersTest, MetricsCountRequestsByRouteAndStatus) {
  Stack s;
  int port = s.server.port();
  for (int i = 0; i < 3; ++i) Fetch(port, "GET", "/health");
  Fetch(port, "GET", "/no/such/path");
  Fetch(port, "POST", "/health");

  auto r = Fetch(port, "GET", "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  auto samples = ParseSamples(r.body);
  EXPECT_EQ(samples[R"(lingxi_http_requests_total{method="GET",route="/health",status="200"})"], 3);
  EXPECT_EQ(samples[R"(lingxi_http_requests_total{method="GET",route="unmatched",status="404"})"], 1);
  EXPECT_EQ(samples[R"(lingxi_http_requests_total{method="POST",route="/health",status="405"})"], 1);
  EXPECT_EQ(samples[R"(lingxi_http_request_duration_seconds_count{route="/health",status="200"})"], 3);
  EXPECT_EQ(samples[R"(lingxi_http_request_duration_seconds_bucket{route="/health",status="200",le="+Inf"})"], 3);
  EXPECT_EQ(samples["lingxi_http_requests_in_flight"], 1);  // the /metrics request itself
  bool build_info = false;
  for (const auto& [k, v] : samples)
    if (k.rfind("lingxi_build_info{", 0) == 0 && v == 1) build_info = true;
  EXPECT_TRUE(build_info);
}

}  // namespace
}  // namespace lingxi::api
