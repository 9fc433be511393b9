#include "engine/upstream/upstream_metrics.h"

namespace lingxi::engine::upstream {
namespace {

const prometheus::Histogram::BucketBoundaries kLatency = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                          0.25,   0.5,   1,      2.5,   5,    10,    30,    60};

}  // namespace

UpstreamMetrics::UpstreamMetrics(metrics::Metrics& m)
    : requests_(prometheus::BuildCounter().Name("lingxi_upstream_requests_total")
                    .Help("Attempts sent to upstream replicas, by outcome").Register(m.registry())),
      errors_(prometheus::BuildCounter().Name("lingxi_upstream_errors_total")
                  .Help("Failed upstream attempts by kind").Register(m.registry())),
      duration_(prometheus::BuildHistogram().Name("lingxi_upstream_request_duration_seconds")
                    .Help("Duration of one upstream attempt, request sent to last byte").Register(m.registry())),
      ttft_(prometheus::BuildHistogram().Name("lingxi_upstream_time_to_first_token_seconds")
                .Help("Upstream request sent to its first streamed text").Register(m.registry())),
      retries_(prometheus::BuildCounter().Name("lingxi_upstream_retries_total")
                   .Help("Upstream attempts after the first of a request").Register(m.registry())),
      circuit_open_(prometheus::BuildGauge().Name("lingxi_upstream_circuit_open")
                        .Help("1 while the replica's circuit breaker is open").Register(m.registry())),
      healthy_(prometheus::BuildGauge().Name("lingxi_upstream_healthy")
                   .Help("1 when the replica passed its last active health check").Register(m.registry())),
      tokens_(prometheus::BuildCounter().Name("lingxi_upstream_tokens_total")
                  .Help("Tokens the upstream reported in usage, by kind").Register(m.registry())) {}

ReplicaMetrics UpstreamMetrics::ForReplica(const std::string& model, const std::string& upstream) {
  prometheus::Labels l{{"model", model}, {"upstream", upstream}};
  auto with = [&](const char* k, const char* v) {
    auto out = l;
    out[k] = v;
    return out;
  };
  auto& healthy = healthy_.Add(l);
  healthy.Set(1);
  return ReplicaMetrics{requests_.Add(with("outcome", "ok")),
                        requests_.Add(with("outcome", "error")),
                        requests_.Add(with("outcome", "cancelled")),
                        duration_.Add(l, kLatency),
                        ttft_.Add(l, kLatency),
                        circuit_open_.Add(l),
                        healthy,
                        tokens_.Add(with("kind", "prompt")),
                        tokens_.Add(with("kind", "cached_prompt")),
                        tokens_.Add(with("kind", "completion")),
                        errors_,
                        model,
                        upstream};
}

prometheus::Counter& UpstreamMetrics::Retries(const std::string& model) { return retries_.Add({{"model", model}}); }

}  // namespace lingxi::engine::upstream
