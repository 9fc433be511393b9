#include "engine/llama/engine_metrics.h"

namespace lingxi::engine::llama {
namespace {

using prometheus::Histogram;

const Histogram::BucketBoundaries kLatency = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                              0.5,   1,      2.5,   5,    10,    30,   60};
const Histogram::BucketBoundaries kCounts = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048};

// One series of a family labelled {model}.
prometheus::Histogram& ModelHistogram(metrics::Metrics& m, const std::string& model, const char* name, const char* help,
                                 const Histogram::BucketBoundaries& buckets) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(m.registry()).Add({{"model", model}}, buckets);
}
prometheus::Counter& ModelCounter(metrics::Metrics& m, const std::string& model, const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(m.registry()).Add({{"model", model}});
}
prometheus::Gauge& ModelGauge(metrics::Metrics& m, const std::string& model, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(m.registry()).Add({{"model", model}});
}

}  // namespace

EngineMetrics::EngineMetrics(metrics::Metrics& m, const std::string& name)
    : ttft(ModelHistogram(m, name, "lingxi_engine_time_to_first_token_seconds",
                     "Time from admission into a sequence slot to the first generated token", kLatency)),
      itl(ModelHistogram(m, name, "lingxi_engine_inter_token_latency_seconds",
                    "Time between consecutive generated tokens of one stream", kLatency)),
      queue_wait(ModelHistogram(m, name, "lingxi_engine_queue_wait_seconds", "Time a request waited for a free sequence slot",
                           kLatency)),
      prompt_tokens(ModelCounter(m, name, "lingxi_engine_prompt_tokens_total", "Prompt tokens of finished requests")),
      prompt_tokens_cached(ModelCounter(m, name, "lingxi_engine_prompt_tokens_cached_total",
                                   "Prompt tokens reused from the KV cache instead of processed")),
      generated_tokens(ModelCounter(m, name, "lingxi_engine_generated_tokens_total", "Tokens generated")),
      requests(prometheus::BuildCounter()
                   .Name("lingxi_engine_requests_total")
                   .Help("Finished engine requests by finish reason")
                   .Register(m.registry())),
      queue_length(ModelGauge(m, name, "lingxi_engine_queue_length", "Requests waiting for a sequence slot")),
      active_sequences(ModelGauge(m, name, "lingxi_engine_active_sequences", "Sequence slots serving a request")),
      batch_sequences(ModelHistogram(m, name, "lingxi_engine_batch_sequences",
                                "Sequences advanced together in one llama_decode call", kCounts)),
      batch_tokens(ModelHistogram(m, name, "lingxi_engine_batch_tokens", "Tokens in one llama_decode call", kCounts)),
      kv_usage(ModelGauge(m, name, "lingxi_engine_kv_cache_usage_ratio", "Tokens held in the KV cache over its capacity")),
      load_progress(ModelGauge(m, name, "lingxi_engine_load_progress", "Model load progress, 0 to 1")),
      load_stage_seconds(prometheus::BuildGauge()
                             .Name("lingxi_engine_load_stage_seconds")
                             .Help("Time each load stage took")
                             .Register(m.registry())),
      model(name) {}

}  // namespace lingxi::engine::llama
