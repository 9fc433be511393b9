// A real Prometheus (Debian's `prometheus` package) scrapes a real lingxi, and promtool
// lints what /metrics serves.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "e2e/lingxi_process.h"
#include "support/http_client.h"
#include "support/process.h"

namespace lingxi::testing {
namespace {

using namespace std::chrono_literals;

TEST(PrometheusTest, PromtoolFindsNoProblemsInMetrics) {
  LingxiProcess lingxi;
  Fetch(lingxi.port(), "GET", "/health");
  Fetch(lingxi.port(), "GET", "/missing");
  auto metrics = Fetch(lingxi.port(), "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  TempDir dir;
  WriteFile(dir.path() + "/metrics.txt", metrics.body);
  Process promtool({"/bin/sh", "-c", "promtool check metrics < " + dir.path() + "/metrics.txt"});
  EXPECT_EQ(promtool.Wait(30s), 0) << promtool.Log();
  EXPECT_EQ(promtool.Log(), "") << "promtool complained";
}

// Runs an instant query; returns the first sample's value, or nullopt.
std::optional<double> Query(int port, const std::string& promql) {
  std::string q;
  for (unsigned char c : promql) {
    if (std::isalnum(c) || c == '_') q += static_cast<char>(c);
    else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      q += buf;
    }
  }
  auto r = Fetch(port, "GET", "/api/v1/query?query=" + q);
  if (r.status != 200) return std::nullopt;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || j["data"]["result"].empty()) return std::nullopt;
  return std::stod(j["data"]["result"][0]["value"][1].get<std::string>());
}

TEST(PrometheusTest, ScrapesLingxiAndSeesItsCounters) {
  LingxiProcess lingxi;
  for (int i = 0; i < 5; ++i) Fetch(lingxi.port(), "GET", "/health");

  TempDir dir;
  int prom_port = FreePort();
  WriteFile(dir.path() + "/prometheus.yml",
            "global:\n  scrape_interval: 1s\n"
            "scrape_configs:\n  - job_name: lingxi\n    static_configs:\n      - targets: ['127.0.0.1:" +
                std::to_string(lingxi.port()) + "']\n");
  Process prometheus({"/usr/bin/prometheus", "--config.file=" + dir.path() + "/prometheus.yml",
                      "--storage.tsdb.path=" + dir.path() + "/data",
                      "--web.listen-address=127.0.0.1:" + std::to_string(prom_port)});
  ASSERT_TRUE(prometheus.WaitForLog(std::regex("Server is ready to receive web requests"), 60s))
      << prometheus.Log();

  // The second scrape sees the first one in the latency histogram.
  std::optional<double> up, health, scrapes;
  for (int i = 0; i < 150 && !(up == 1.0 && health && scrapes); ++i) {
    std::this_thread::sleep_for(200ms);
    up = Query(prom_port, "up{job=\"lingxi\"}");
    health = Query(prom_port, "lingxi_http_requests_total{route=\"/health\",status=\"200\"}");
    scrapes = Query(prom_port, "lingxi_http_request_duration_seconds_count{route=\"/metrics\",status=\"200\"}");
  }
  EXPECT_EQ(up, 1.0) << prometheus.Log();
  EXPECT_EQ(health, 5.0);
  EXPECT_GE(scrapes.value_or(0), 1.0);
  EXPECT_EQ(Query(prom_port, "lingxi_build_info"), 1.0);
}

}  // namespace
}  // namespace lingxi::testing
