// The upstream engine: serves a model by calling one or more OpenAI-compatible servers
// (vLLM, SGLang, llama-server, another lingxi, a hosted API) given by base URL with /v1, as
// OpenAI SDKs take them. Replicas are balanced by least outstanding requests with session
// affinity; failures open per-replica circuits; connect errors, timeouts and 5xx are retried
// on another replica with jittered backoff as long as nothing has been sent to the client.
// Streams pass through event by event; a client that leaves closes the upstream connection.
//
// Metrics (labels {model, upstream} unless noted):
//   lingxi_upstream_requests_total{outcome}      attempts by outcome (ok, error, cancelled)
//   lingxi_upstream_errors_total{kind}           connect, timeout, status_4xx, status_5xx, protocol, cut
//   lingxi_upstream_request_duration_seconds     histogram, one attempt
//   lingxi_upstream_time_to_first_token_seconds  histogram, request sent to first streamed text
//   lingxi_upstream_retries_total{model}         attempts after the first
//   lingxi_upstream_circuit_open                 gauge, 1 while the replica's circuit is open
//   lingxi_upstream_healthy                      gauge, active health check result
//   lingxi_upstream_tokens_total{kind}           prompt, cached_prompt, completion (upstream usage)
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/engine.h"
#include "metrics/registry.h"

namespace lingxi::engine::upstream {

struct UpstreamOptions {
  std::string id;                     // served model id; "" = the upstream's model name
  std::vector<std::string> aliases;   // other ids clients may use
  std::vector<std::string> urls;      // replica base URLs, with /v1
  std::string model;                  // the upstream's model name; "" = the first of GET /models
  std::string api_key;                // sent as Authorization: Bearer; never logged
  std::string flavor = "auto";        // openai | vllm | sglang | llama-server | moonshot | auto
  std::string extra_body;             // JSON object merged into every request body
  std::optional<bool> thinking;       // default thinking switch; nullopt = the server's default
  bool inline_images = false;         // fetch image URLs and send data: URLs (moonshot: always)
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds header_timeout{60'000};   // request sent -> response headers
  std::chrono::milliseconds idle_timeout{60'000};     // longest silence inside a response body
  int retries = 2;                                    // attempts after the first
  std::chrono::milliseconds retry_backoff{50};        // base of the jittered exponential backoff
  int failure_threshold = 3;                          // consecutive failures that open a circuit
  std::chrono::milliseconds open_duration{5000};      // how long a circuit stays open
  std::chrono::milliseconds health_interval{5000};    // 0 = no active health checks
  std::string health_path;            // "" = /health (vLLM, SGLang, llama-server) or {base}/models
  bool affinity = true;               // keep a conversation on one replica
  bool verify_tls = true;
  std::string ca_file;                // PEM bundle; "" = the system store
  std::vector<std::string> fallback;  // models that answer when every replica is down
};

// Checks the options and, when the model name or flavor is not configured, asks the replicas'
// GET /models (for up to `discovery_timeout`). Errors name the option or URL.
Result<std::shared_ptr<Engine>> CreateUpstreamEngine(const UpstreamOptions& options, metrics::Metrics& metrics,
                                                     std::chrono::milliseconds discovery_timeout = std::chrono::seconds(30));

}  // namespace lingxi::engine::upstream
