// Metrics of the embedded engine, all labelled {model}:
//   lingxi_engine_time_to_first_token_seconds   histogram  admission to first token (queue excluded)
//   lingxi_engine_inter_token_latency_seconds   histogram  between consecutive tokens of one stream
//   lingxi_engine_queue_wait_seconds            histogram  submit to admission into a sequence slot
//   lingxi_engine_prompt_tokens_total           counter    prompt tokens of finished requests
//   lingxi_engine_prompt_tokens_cached_total    counter    of those, reused from the KV cache
//   lingxi_engine_generated_tokens_total        counter    tokens generated
//   lingxi_engine_requests_total{finish}        counter    finished requests by finish reason
//   lingxi_engine_queue_length                  gauge      requests waiting for a slot
//   lingxi_engine_active_sequences              gauge      slots with a request
//   lingxi_engine_batch_sequences               histogram  sequences advanced per llama_decode
//   lingxi_engine_batch_tokens                  histogram  tokens per llama_decode
//   lingxi_engine_kv_cache_usage_ratio          gauge      cached tokens / KV capacity
//   lingxi_engine_load_progress                 gauge      0..1 while loading, 1 when ready
//   lingxi_engine_load_stage_seconds{stage}     gauge      time each load stage took
// Rates (tokens/s) are rate() of the counters. Thread-safe.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <string>

#include "metrics/registry.h"

namespace lingxi::engine::llama {

struct EngineMetrics {
  EngineMetrics(metrics::Metrics& m, const std::string& model);

  prometheus::Histogram& ttft;
  prometheus::Histogram& itl;
  prometheus::Histogram& queue_wait;
  prometheus::Counter& prompt_tokens;
  prometheus::Counter& prompt_tokens_cached;
  prometheus::Counter& generated_tokens;
  prometheus::Family<prometheus::Counter>& requests;
  prometheus::Gauge& queue_length;
  prometheus::Gauge& active_sequences;
  prometheus::Histogram& batch_sequences;
  prometheus::Histogram& batch_tokens;
  prometheus::Gauge& kv_usage;
  prometheus::Gauge& load_progress;
  prometheus::Family<prometheus::Gauge>& load_stage_seconds;
  std::string model;
};

}  // namespace lingxi::engine::llama
