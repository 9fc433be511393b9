// The metric families of upstream engines (catalogue in upstream_engine.h), and the series of
// one replica. Thread-safe.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <string>

#include "metrics/registry.h"

namespace lingxi::engine::upstream {

struct ReplicaMetrics {
  prometheus::Counter& ok;
  prometheus::Counter& failed;
  prometheus::Counter& cancelled;
  prometheus::Histogram& duration;
  prometheus::Histogram& ttft;
  prometheus::Gauge& circuit_open;
  prometheus::Gauge& healthy;
  prometheus::Counter& prompt_tokens;
  prometheus::Counter& cached_tokens;
  prometheus::Counter& completion_tokens;
  prometheus::Family<prometheus::Counter>& errors;
  std::string model, upstream;
  void Error(const char* kind) { errors.Add({{"model", model}, {"upstream", upstream}, {"kind", kind}}).Increment(); }
};

class UpstreamMetrics {
 public:
  explicit UpstreamMetrics(metrics::Metrics& m);
  ReplicaMetrics ForReplica(const std::string& model, const std::string& upstream);
  prometheus::Counter& Retries(const std::string& model);

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Histogram>& ttft_;
  prometheus::Family<prometheus::Counter>& retries_;
  prometheus::Family<prometheus::Gauge>& circuit_open_;
  prometheus::Family<prometheus::Gauge>& healthy_;
  prometheus::Family<prometheus::Counter>& tokens_;
};

}  // namespace lingxi::engine::upstream
