#include "engine/llama/engine_metrics.h"

namespace lingxi::engine::llama {
namespace {

using prometheus::Histogram;

const Histogram::BucketBoundaries kLatency = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                              0.5,   1,      2.5,   5,    10,    30,   60};
const Histogram::BucketBoundaries kCounts = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048};

}  // namespace

EngineMetrics::EngineMetrics(metrics::Metrics& m, const std::string& name)
    : ttft(prometheus::BuildHistogram()
               .Name("lingxi_engine_time_to_first_token_seconds")
               .Help("Time from admission into a sequence slot to the first generated token")
               .Register(m.registry())
               .Add({{"model", name}}, kLatency)),
      itl(prometheus::BuildHistogram()
              .Name("lingxi_engine_inter_token_latency_seconds")
              .Help("Time between consecutive generated tokens of one stream")
              .Register(m.registry())
              .Add({{"model", name}}, kLatency)),
      queue_wait(prometheus::BuildHistogram()
                     .Name("lingxi_engine_queue_wait_seconds")
                     .Help("Time a request waited for a free sequence slot")
                     .Register(m.registry())
                     .Add({{"model", name}}, kLatency)),
      prompt_tokens(prometheus::BuildCounter()
                        .Name("lingxi_engine_prompt_tokens_total")
                        .Help("Prompt tokens of finished requests")
                        .Register(m.registry())
                        .Add({{"model", name}})),
      prompt_tokens_cached(prometheus::BuildCounter()
                               .Name("lingxi_engine_prompt_tokens_cached_total")
                               .Help("Prompt tokens reused from the KV cache instead of processed")
                               .Register(m.registry())
                               .Add({{"model", name}})),
      generated_tokens(prometheus::BuildCounter()
                           .Name("lingxi_engine_generated_tokens_total")
                           .Help("Tokens generated")
                           .Register(m.registry())
                           .Add({{"model", name}})),
      requests(prometheus::BuildCounter()
                   .Name("lingxi_engine_requests_total")
                   .Help("Finished engine requests by finish reason")
                   .Register(m.registry())),
      queue_length(prometheus::BuildGauge()
                       .Name("lingxi_engine_queue_length")
                       .Help("Requests waiting for a sequence slot")
                       .Register(m.registry())
                       .Add({{"model", name}})),
      active_sequences(prometheus::BuildGauge()
                           .Name("lingxi_engine_active_sequences")
                           .Help("Sequence slots serving a request")
                           .Register(m.registry())
                           .Add({{"model", name}})),
      batch_sequences(prometheus::BuildHistogram()
                          .Name("lingxi_engine_batch_sequences")
                          .Help("Sequences advanced together in one llama_decode call")
                          .Register(m.registry())
                          .Add({{"model", name}}, kCounts)),
      batch_tokens(prometheus::BuildHistogram()
                       .Name("lingxi_engine_batch_tokens")
                       .Help("Tokens in one llama_decode call")
                       .Register(m.registry())
                       .Add({{"model", name}}, kCounts)),
      kv_usage(prometheus::BuildGauge()
                   .Name("lingxi_engine_kv_cache_usage_ratio")
                   .Help("Tokens held in the KV cache over its capacity")
                   .Register(m.registry())
                   .Add({{"model", name}})),
      load_progress(prometheus::BuildGauge()
                        .Name("lingxi_engine_load_progress")
                        .Help("Model load progress, 0 to 1")
                        .Register(m.registry())
                        .Add({{"model", name}})),
      load_stage_seconds(prometheus::BuildGauge()
                             .Name("lingxi_engine_load_stage_seconds")
                             .Help("Time each load stage took")
                             .Register(m.registry())),
      model(name) {}

}  // namespace lingxi::engine::llama
