// Config: everything lingxi reads at start-up, validated once.
//
// Sources, later ones winning (documented in the README):
//   1. built-in defaults (below, beside each field),
//   2. a TOML file (`--config FILE`),
//   3. environment variables LINGXI_<SECTION>_<KEY> (e.g. LINGXI_SERVER_PORT=9000),
//   4. command-line flags (`--port`, `--host`, ... and `--set section.key=value`).
// Every key has one path ("server.port"); an unknown key or a bad value is rejected with that
// path in the message. A Config is a plain value: build it once, then share it read-only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace lingxi {

using Duration = std::chrono::milliseconds;

struct ServerConfig {
  std::string host = "127.0.0.1";  // address to bind; "0.0.0.0" or "::" for all interfaces
  uint16_t port = 8000;            // 0 picks a free port (printed at start-up)
  int io_threads = 0;              // I/O threads, one io_context each; 0 = number of cores
  uint64_t body_limit = 32ull << 20;      // max request body bytes; larger gets 413. >= 1
  Duration header_timeout{10'000};  // first byte to end of headers; slow clients are cut. > 0
  Duration body_timeout{60'000};    // end of headers to end of body. > 0
  Duration idle_timeout{60'000};    // keep-alive connection with no request in progress. > 0
  Duration shutdown_timeout{30'000};  // SIGTERM: time in-flight requests get to finish. >= 0
};

struct LogConfig {
  std::string level = "info";  // trace | debug | info | warn | error | off
  std::string format = "text";  // text | json (one JSON object per line)
  bool access_log = true;       // one line per request
};

// The embedded llama.cpp engine. With no path, `serve` generates and serves the demo model.
struct ModelConfig {
  std::string path;           // GGUF file; "" = the generated demo model (answers are noise)
  std::string id;             // served model id; "" = the file's stem
  std::vector<std::string> adapters;  // LoRA adapter GGUFs, applied in order (scale 1)
  std::string chat_template;  // Jinja template overriding tokenizer.chat_template; "" = the model's
  int context = 4096;         // tokens per sequence; 0 = the model's training context
  int parallel = 8;           // sequences decoded together (continuous batching). 1..256
  int batch = 512;            // tokens per decode step; long prompts are cut in chunks of this. >= 16
  int queue = 64;             // requests waiting for a sequence; more get 503. >= 0
  int threads = 0;            // CPU threads for inference; 0 = all cores
  int gpu_layers = 0;         // layers offloaded to the GPU (CUDA builds); -1 = all
  bool embeddings = true;     // serve /v1/embeddings from this model
  bool exit_on_load_failure = true;  // false: keep serving with /ready at 503 and the error in it
};

// OpenAI-compatible upstream servers serving one model (vLLM, SGLang, llama-server, a hosted
// API). With urls set and no model.path, lingxi serves only the upstream model.
struct UpstreamConfig {
  std::vector<std::string> urls;    // replica base URLs with /v1 (`--upstream URL`, repeatable)
  std::string id;                   // served model id; "" = the upstream's model name
  std::string model;                // the upstream's model name; "" = the first of its GET /models
  std::vector<std::string> aliases; // more ids clients may ask for
  std::string api_key;              // Authorization: Bearer; never logged or printed
  std::string flavor = "auto";      // auto | openai | vllm | sglang | llama-server | moonshot
  std::string extra_body;           // JSON object merged into every request body
  std::string thinking = "default"; // default | on | off: the reasoning switch sent upstream
  bool inline_images = false;       // send images as data: URLs (always for moonshot)
  Duration connect_timeout{2000};   // TCP connect + TLS handshake. > 0
  Duration header_timeout{60'000};  // request sent -> response headers (TTFT of non-streams). > 0
  Duration idle_timeout{60'000};    // longest silence inside a response. > 0
  int retries = 2;                  // attempts after the first, on other replicas. 0..10
  Duration retry_backoff{50};       // base of the jittered exponential backoff
  int failure_threshold = 3;        // consecutive failures that open a replica's circuit. >= 1
  Duration open_duration{5000};     // open circuit -> half-open probe. > 0
  Duration health_interval{5000};   // active health checks; 0 = off
  std::string health_path;          // "" = /health, or {base}/models for openai/moonshot
  bool affinity = true;             // one conversation -> one replica (its prefix cache)
  bool verify_tls = true;           // check the server certificate and host name
  std::string ca_file;              // PEM bundle to trust; "" = the system store
  std::vector<std::string> fallback;  // models to answer when every replica is down, in order
};

// Redis, shared by the rate limiter (and the cache): "" = none, everything stays local.
struct RedisConfig {
  std::string url;               // redis://[:password@]host[:port]
  Duration timeout{250};         // connect and each command; slower counts as down. > 0
};

// An API key, kept as its SHA-256 (`lingxi hash-key KEY` prints it), never as the key.
struct ApiKeyConfig {
  std::string name;                 // who it is, in logs and metrics
  std::string sha256;               // 64 hex digits
  std::string rate_limit;           // its own limit; "" = rate_limit.per_key
  std::vector<std::string> models;  // models it may use; empty = all
};

// With no keys lingxi is open (local use); with keys every model endpoint needs
// `Authorization: Bearer KEY`. Keys are set in the config file as [[auth.keys]] tables.
struct AuthConfig {
  std::vector<ApiKeyConfig> keys;
};

struct RateLimitConfig {
  std::string per_ip = "100/minute";  // N/second|minute|hour|day, or off (LINGXI_RATE_LIMIT_PER_IP)
  std::string per_key = "off";        // per API key, unless the key sets its own
  std::string per_user = "off";       // per chat user (the bot's users)
  bool fail_open = true;              // Redis down: count locally (true) or answer 503 (false)
  // Proxies whose X-Forwarded-For is believed (exact addresses); the client is the last
  // address in it that is not one of them.
  std::vector<std::string> trusted_proxies;
};

// The response cache. Tiers are looked up in the order listed; the default puts process
// memory first (microseconds, no network), then Redis (shared by replicas), then disk
// (survives restarts). "redis" is skipped when redis.url is empty.
struct CacheConfig {
  bool enabled = true;
  std::vector<std::string> tiers = {"memory", "redis", "disk"};  // any of these, in lookup order
  Duration ttl{3'600'000};            // how long an answer is kept. > 0
  uint64_t memory_bytes = 256ull << 20;  // L1 budget (keys + answers)
  std::string disk_path;              // RocksDB folder; "" = $LINGXI_CACHE/responses or ~/.cache/lingxi/responses
  uint64_t disk_bytes = 1ull << 30;   // L3 budget; the oldest files go first
  bool nondeterministic = false;      // also cache sampled answers (temperature > 0, no seed)
};

struct Config {
  ServerConfig server;
  LogConfig log;
  ModelConfig model;
  UpstreamConfig upstream;
  RedisConfig redis;
  RateLimitConfig rate_limit;
  CacheConfig cache;
  AuthConfig auth;
};

// A "path=value" setting from the environment or a flag, applied on top of the file.
struct Override {
  std::string path;   // "server.port"
  std::string value;  // textual value, parsed by the key's type
  std::string origin; // "LINGXI_SERVER_PORT" or "--port", for error messages
};

// Parses a TOML document (`origin` names it in messages) over the defaults.
Result<Config> ParseConfigToml(std::string_view toml, std::string_view origin);
// Reads and parses a TOML file.
Result<Config> LoadConfigFile(const std::string& path);
// Applies overrides in order; the first bad one fails with its path and origin.
Status ApplyOverrides(Config& config, const std::vector<Override>& overrides);
// LINGXI_* variables that name a config key, from `environ`-style "NAME=value" strings.
// Variables with the prefix that name no key are returned in `unknown` (they may belong to
// scripts, e.g. LINGXI_CACHE, so they are not an error).
std::vector<Override> OverridesFromEnvironment(const char* const* environ,
                                               std::vector<std::string>* unknown = nullptr);
// Every key path the config knows, in declaration order (for --help and docs).
std::vector<std::string> ConfigKeys();
// The config rendered back as TOML (for `check-config` and logs; holds no secrets yet).
std::string ConfigToToml(const Config& config);

// Parses "32MiB", "512k", "1000" into bytes.
Result<uint64_t> ParseByteSize(std::string_view text);
// Parses "30s", "500ms", "2m", "1h" or a bare number of seconds into a Duration.
Result<Duration> ParseDuration(std::string_view text);

}  // namespace lingxi
