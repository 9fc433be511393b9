// lingxi: parses the command line and wires the modules together. Nothing else lives here.
#include <CLI/CLI.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include "api/errors.h"
#include "api/routes.h"
#include "cache/tiers.h"
#include "core/config.h"
#include "core/log.h"
#include "core/readiness.h"
#include "core/sha256.h"
#include "core/version.h"
#include "engine/llama/llama_engine.h"
#include "engine/llama/system_info.h"
#include "engine/llama/test_model.h"
#include "engine/registry.h"
#include "engine/upstream/upstream_engine.h"
#include "http/server.h"
#include "metrics/registry.h"
#include "pipeline/pipeline.h"
#include "ratelimit/limiter.h"
#include "redis/client.h"

extern char** environ;

namespace {

using namespace lingxi;

struct ServeFlags {
  std::string config_file;
  std::string host;
  int port = -1;
  std::string model;
  std::string log_level;
  std::string log_format;
  int gpu_layers = -2;
  int parallel = 0;
  int threads = -1;
  std::vector<std::string> upstreams;  // replica base URLs
  std::vector<std::string> sets;  // "section.key=value"
};

// defaults < TOML file < LINGXI_* environment < flags
Result<Config> BuildConfig(const ServeFlags& f) {
  Config config;
  if (!f.config_file.empty()) {
    auto loaded = LoadConfigFile(f.config_file);
    if (!loaded.ok()) return loaded.status();
    config = std::move(*loaded);
  }
  std::vector<Override> overrides = OverridesFromEnvironment(environ);
  auto flag = [&](bool given, const char* path, std::string value, const char* name) {
    if (given) overrides.push_back({path, std::move(value), name});
  };
  flag(!f.host.empty(), "server.host", f.host, "--host");
  flag(f.port >= 0, "server.port", std::to_string(f.port), "--port");
  flag(!f.model.empty(), "model.path", f.model, "--model");
  flag(!f.log_level.empty(), "log.level", f.log_level, "--log-level");
  flag(!f.log_format.empty(), "log.format", f.log_format, "--log-format");
  flag(f.gpu_layers != -2, "model.gpu_layers", std::to_string(f.gpu_layers), "--gpu-layers");
  flag(f.parallel > 0, "model.parallel", std::to_string(f.parallel), "--parallel");
  flag(f.threads >= 0, "model.threads", std::to_string(f.threads), "--threads");
  std::string urls;
  for (const auto& u : f.upstreams) urls += (urls.empty() ? "" : ",") + u;
  flag(!urls.empty(), "upstream.urls", urls, "--upstream");
  for (const auto& s : f.sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos) return Status::InvalidArgument("--set " + s + ": expected section.key=value");
    overrides.push_back({s.substr(0, eq), s.substr(eq + 1), "--set"});
  }
  if (Status st = ApplyOverrides(config, overrides); !st.ok()) return st;
  return config;
}

// Where lingxi keeps what it makes: the demo model, the disk cache.
std::filesystem::path CacheDir() {
  const char* cache = std::getenv("LINGXI_CACHE");
  const char* home = std::getenv("HOME");
  return cache ? cache : std::string(home ? home : "/tmp") + "/.cache/lingxi";
}

// The demo model served when none is configured: generated once into the cache folder.
Result<std::string> DemoModelPath() {
  auto path = CacheDir() / "demo" / ("lingxi-demo-g" + std::to_string(engine::llama::kTestModelGeneration) + ".gguf");
  if (std::filesystem::exists(path)) return path.string();
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  auto tmp = path.string() + ".tmp";
  engine::llama::TestModelOptions options;
  options.name = "lingxi-demo";
  if (Status s = engine::llama::WriteTestModel(options, tmp); !s.ok()) return s;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::Internal("cannot write " + path.string() + ": " + ec.message());
  return path.string();
}

engine::llama::LlamaEngineOptions EngineOptions(const ModelConfig& m, std::string path) {
  engine::llama::LlamaEngineOptions o;
  o.model_path = std::move(path);
  o.id = m.id;
  for (const auto& a : m.adapters) o.adapters.push_back({a, 1.0f});
  o.chat_template = m.chat_template;
  o.context = m.context;
  o.parallel = m.parallel;
  o.batch = m.batch;
  o.queue = m.queue;
  o.threads = m.threads;
  o.gpu_layers = m.gpu_layers;
  o.embeddings = m.embeddings;
  return o;
}

engine::upstream::UpstreamOptions UpstreamOptions(const UpstreamConfig& u) {
  engine::upstream::UpstreamOptions o;
  o.id = u.id;
  o.aliases = u.aliases;
  o.urls = u.urls;
  o.model = u.model;
  o.api_key = u.api_key;
  o.flavor = u.flavor;
  o.extra_body = u.extra_body;
  if (u.thinking != "default") o.thinking = u.thinking == "on";
  o.inline_images = u.inline_images;
  o.connect_timeout = u.connect_timeout;
  o.header_timeout = u.header_timeout;
  o.idle_timeout = u.idle_timeout;
  o.retries = u.retries;
  o.retry_backoff = u.retry_backoff;
  o.failure_threshold = u.failure_threshold;
  o.open_duration = u.open_duration;
  o.health_interval = u.health_interval;
  o.health_path = u.health_path;
  o.affinity = u.affinity;
  o.verify_tls = u.verify_tls;
  o.ca_file = u.ca_file;
  o.fallback = u.fallback;
  return o;
}

// The response cache's tiers in their configured order. A tier that cannot start (no Redis
// configured, a disk folder another process holds) is left out with a warning.
std::unique_ptr<cache::TieredCache> MakeCache(const Config& config, redis::Client* redis, metrics::Metrics& metrics) {
  const auto& c = config.cache;
  if (!c.enabled) return nullptr;
  std::vector<std::unique_ptr<cache::Tier>> tiers;
  for (const auto& name : c.tiers) {
    if (name == "memory") {
      tiers.push_back(cache::MakeMemoryTier(c.memory_bytes, metrics));
    } else if (name == "redis") {
      if (redis) tiers.push_back(cache::MakeRedisTier(*redis, "lingxi:cache:"));
    } else if (name == "disk") {
      std::string path = c.disk_path.empty() ? (CacheDir() / "responses").string() : c.disk_path;
      auto disk = cache::MakeDiskTier(path, c.disk_bytes);
      if (disk.ok()) tiers.push_back(std::move(*disk));
      else LogWarn("the disk cache tier is off", {{"error", disk.status().message()}});
    }
  }
  std::string names;
  for (const auto& t : tiers) names += std::string(names.empty() ? "" : ",") + t->name();
  LogInfo("response cache", {{"tiers", names}, {"ttl_ms", std::to_string(c.ttl.count()), true}});
  return std::make_unique<cache::TieredCache>(std::move(tiers), c.ttl, metrics);
}

int Serve(const ServeFlags& flags) {
  auto config = BuildConfig(flags);
  if (!config.ok()) {
    std::cerr << "lingxi: invalid configuration: " << config.status().message() << "\n";
    return 2;
  }
  InitLogging(config->log);
  engine::llama::InstallLlamaLogging();

  // The embedded engine runs when a model is configured, or as the demo when nothing is.
  const bool has_upstream = !config->upstream.urls.empty();
  std::string model_path = config->model.path;
  const bool embedded = !model_path.empty() || !has_upstream;
  if (model_path.empty() && embedded) {
    auto demo = DemoModelPath();
    if (!demo.ok()) {
      LogError("cannot create the demo model", {{"error", demo.status().message()}});
      return 1;
    }
    model_path = *demo;
    LogWarn("no model configured: serving the generated demo model; its answers are noise (see README)",
            {{"path", model_path}});
  }

  metrics::Metrics metrics;
  metrics::HttpMetrics http_metrics(metrics);
  Readiness readiness;
  engine::ModelRegistry models;
  // Redis (when configured) shares the rate limits between replicas.
  std::unique_ptr<redis::Client> redis_client;
  if (!config->redis.url.empty()) {
    auto options = redis::ParseUrl(config->redis.url);
    if (!options.ok()) {
      LogError("invalid configuration", {{"error", options.status().WithContext("redis.url").message()}});
      return 2;
    }
    options->timeout = config->redis.timeout;
    redis_client = std::make_unique<redis::Client>(*options);
  }
  ratelimit::RateLimiter limiter({redis_client.get(), config->rate_limit.fail_open, "lingxi:rl:"}, metrics);
  auto response_cache = MakeCache(*config, redis_client.get(), metrics);
  pipeline::Limits limits{&limiter, *RateLimit::Parse(config->rate_limit.per_ip),
                          *RateLimit::Parse(config->rate_limit.per_key), *RateLimit::Parse(config->rate_limit.per_user), {}};
  for (const auto& k : config->auth.keys)
    limits.keys.push_back({k.name, k.sha256, *RateLimit::Parse(k.rate_limit), k.models});
  if (!limits.keys.empty())
    LogInfo("API keys required", {{"keys", std::to_string(limits.keys.size()), true}});
  pipeline::Pipeline pipeline(models, metrics, std::move(limits), {response_cache.get(), config->cache.nondeterministic});
  api::ApiContext ctx{&readiness, &metrics, &pipeline, config->rate_limit.trusted_proxies};

  const auto& s = config->server;
  http::ServerOptions opt{s.host, s.port,
                          s.io_threads > 0 ? s.io_threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())),
                          s.body_limit, s.header_timeout, s.body_timeout, s.idle_timeout, s.shutdown_timeout,
                          config->log.access_log};
  http::Server server(opt, api::BuildRouter(ctx), api::ErrorResponse, &http_metrics);
  if (Status st = server.Listen(); !st.ok()) {
    LogError("cannot start", {{"error", st.message()}});
    return 1;
  }
  server.HandleSignals();
  LogInfo("lingxi listening", {{"version", LINGXI_VERSION},
                               {"host", s.host},
                               {"port", std::to_string(server.port()), true},
                               {"io_threads", std::to_string(opt.io_threads), true}});

  // Models load while the server already answers /health and /ready (503 with progress).
  // The upstream comes first so that it is the default model when there is one.
  std::atomic<bool> load_failed{false};
  auto failed = [&](const std::string& id, Readiness::Component& progress, const Status& s) {
    LogError("model failed to load", {{"model", id}, {"error", s.message()}});
    models.Fail(id, s.message());
    progress.Failed(s.message());
    if (config->model.exit_on_load_failure) {
      load_failed = true;
      server.Shutdown();
    }
  };
  std::vector<std::thread> loaders;
  if (has_upstream) {
    const auto& u = config->upstream;
    std::string expected = !u.id.empty() ? u.id : !u.model.empty() ? u.model : "upstream";
    models.Expect(expected);
    auto progress = readiness.Register("upstream:" + expected);
    loaders.emplace_back([&, expected, progress]() mutable {
      progress.Stage("asking the upstream for its model", 0.1);
      auto engine = engine::upstream::CreateUpstreamEngine(UpstreamOptions(config->upstream), metrics);
      if (!engine.ok()) return failed(expected, progress, engine.status());
      models.Add(*engine, expected);
      progress.Ready();
    });
  }
  if (embedded) {
    auto engine_options = EngineOptions(config->model, model_path);
    if (config->model.path.empty() && engine_options.id.empty()) engine_options.id = "lingxi-demo";
    const std::string model_id = engine::llama::ModelIdFor(engine_options);
    models.Expect(model_id);
    auto progress = readiness.Register("engine:" + model_id);
    loaders.emplace_back([&, engine_options, model_id, progress]() mutable {
      auto engine = engine::llama::CreateLlamaEngine(engine_options, progress, metrics);
      if (!engine.ok()) return failed(model_id, progress, engine.status());
      models.Add(std::shared_ptr<engine::Engine>(std::move(*engine)));
      progress.Ready();  // only now can requests find it
    });
  }
  server.Run();
  for (auto& t : loaders) t.join();
  models.StopAll();  // before the server's event loops go away
  if (response_cache) response_cache->Close();
  if (redis_client) redis_client->Close();
  LogInfo("lingxi stopped");
  return load_failed ? 1 : 0;
}

int CheckConfig(const std::string& file) {
  ServeFlags flags;
  flags.config_file = file;
  auto config = BuildConfig(flags);
  if (!config.ok()) {
    std::cerr << "lingxi: invalid configuration: " << config.status().message() << "\n";
    return 1;
  }
  std::cout << "# " << file << ": ok (with LINGXI_* environment applied)\n" << ConfigToToml(*config);
  return 0;
}

std::string KeysHelp() {
  std::string out = "Config keys (TOML path; environment LINGXI_<SECTION>_<KEY>):\n";
  for (const auto& k : ConfigKeys()) out += "  " + k + "\n";
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lingxi: serves language models over HTTP (OpenAI-compatible) and as a chat bot"};
  app.require_subcommand(1);
  app.footer(KeysHelp());

  ServeFlags serve;
  auto* serve_cmd = app.add_subcommand("serve", "Start the HTTP server");
  serve_cmd->add_option("--config", serve.config_file, "TOML config file")->check(CLI::ExistingFile);
  serve_cmd->add_option("--host", serve.host, "Address to bind (server.host)");
  serve_cmd->add_option("--port", serve.port, "Port to bind, 0 for any free port (server.port)");
  serve_cmd->add_option("--model", serve.model, "GGUF model to serve (model.path); default: the demo model");
  serve_cmd->add_option("--gpu-layers", serve.gpu_layers, "Layers to offload to the GPU, -1 = all (model.gpu_layers)");
  serve_cmd->add_option("--parallel", serve.parallel, "Sequences decoded together (model.parallel)");
  serve_cmd->add_option("--threads", serve.threads, "CPU threads for inference, 0 = all (model.threads)");
  serve_cmd->add_option("--log-level", serve.log_level, "trace|debug|info|warn|error|off (log.level)");
  serve_cmd->add_option("--log-format", serve.log_format, "text|json (log.format)");
  serve_cmd->add_option("--upstream", serve.upstreams,
                        "OpenAI-compatible base URL with /v1 to serve a model from; repeat for replicas (upstream.urls)");
  serve_cmd->add_option("--set", serve.sets, "Any config key: --set server.body_limit=64MiB (repeatable)");

  std::string check_file;
  auto* check_cmd = app.add_subcommand("check-config", "Validate a config file and print the effective config");
  check_cmd->add_option("file", check_file, "TOML config file")->required();

  engine::llama::TestModelOptions tm;
  std::string tm_out;
  auto* model_cmd = app.add_subcommand("make-test-model", "Write the tiny deterministic test model (a GGUF)");
  model_cmd->add_option("out", tm_out, "Output GGUF path")->required();
  model_cmd->add_option("--layers", tm.n_layer, "Transformer blocks");
  model_cmd->add_option("--embd", tm.n_embd, "Embedding width");
  model_cmd->add_option("--heads", tm.n_head, "Attention heads");
  model_cmd->add_option("--kv-heads", tm.n_head_kv, "Key/value heads");
  model_cmd->add_option("--ff", tm.n_ff, "Feed-forward width");
  model_cmd->add_option("--vocab", tm.n_vocab, "Vocabulary size (BPE merges learned up to it)");
  model_cmd->add_option("--type", tm.type, "Weight type: f32, f16, q8_0 or q4_k");
  model_cmd->add_option("--seed", tm.seed, "Weight seed");

  std::string key_to_hash;
  auto* hash_cmd = app.add_subcommand("hash-key", "Print the SHA-256 of an API key, for [[auth.keys]] sha256");
  hash_cmd->add_option("key", key_to_hash, "The API key")->required();

  auto* version_cmd = app.add_subcommand("version", "Print version and build information");

  CLI11_PARSE(app, argc, argv);

  if (*serve_cmd) return Serve(serve);
  if (*check_cmd) return CheckConfig(check_file);
  if (*hash_cmd) {
    std::cout << "sha256:" << Sha256Hex(key_to_hash) << "\n";
    return 0;
  }
  if (*model_cmd) {
    if (Status s = engine::llama::WriteTestModel(tm, tm_out); !s.ok()) {
      std::cerr << "lingxi: " << s.message() << "\n";
      return 1;
    }
    std::cout << tm_out << "\n";
    return 0;
  }
  if (*version_cmd) {
    std::cout << "lingxi " << LINGXI_VERSION << " (commit " << LINGXI_GIT_COMMIT << ")\n"
              << "llama.cpp " << LINGXI_LLAMA_CPP_VERSION << "\n"
              << "devices: " << engine::llama::Devices() << "\n"
              << "system: " << engine::llama::SystemInfo() << "\n";
    return 0;
  }
  return 0;
}
