// lingxi: parses the command line and wires the modules together. Nothing else lives here.
#include <CLI/CLI.hpp>

#include <iostream>
#include <thread>

#include "api/errors.h"
#include "api/routes.h"
#include "core/config.h"
#include "core/log.h"
#include "core/readiness.h"
#include "core/version.h"
#include "engine/llama/system_info.h"
#include "http/server.h"
#include "metrics/registry.h"

extern char** environ;

namespace {

using namespace lingxi;

struct ServeFlags {
  std::string config_file;
  std::string host;
  int port = -1;
  std::string log_level;
  std::string log_format;
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
  if (!f.host.empty()) overrides.push_back({"server.host", f.host, "--host"});
  if (f.port >= 0) overrides.push_back({"server.port", std::to_string(f.port), "--port"});
  if (!f.log_level.empty()) overrides.push_back({"log.level", f.log_level, "--log-level"});
  if (!f.log_format.empty()) overrides.push_back({"log.format", f.log_format, "--log-format"});
  for (const auto& s : f.sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos) return Status::InvalidArgument("--set " + s + ": expected section.key=value");
    overrides.push_back({s.substr(0, eq), s.substr(eq + 1), "--set"});
  }
  if (Status st = ApplyOverrides(config, overrides); !st.ok()) return st;
  return config;
}

int Serve(const ServeFlags& flags) {
  auto config = BuildConfig(flags);
  if (!config.ok()) {
    std::cerr << "lingxi: invalid configuration: " << config.status().message() << "\n";
    return 2;
  }
  InitLogging(config->log);

  metrics::Metrics metrics;
  metrics::HttpMetrics http_metrics(metrics);
  Readiness readiness;
  api::ApiContext ctx{&readiness, &metrics};

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
  server.Run();
  LogInfo("lingxi stopped");
  return 0;
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
  serve_cmd->add_option("--log-level", serve.log_level, "trace|debug|info|warn|error|off (log.level)");
  serve_cmd->add_option("--log-format", serve.log_format, "text|json (log.format)");
  serve_cmd->add_option("--set", serve.sets, "Any config key: --set server.body_limit=64MiB (repeatable)");

  std::string check_file;
  auto* check_cmd = app.add_subcommand("check-config", "Validate a config file and print the effective config");
  check_cmd->add_option("file", check_file, "TOML config file")->required();

  auto* version_cmd = app.add_subcommand("version", "Print version and build information");

  CLI11_PARSE(app, argc, argv);

  if (*serve_cmd) return Serve(serve);
  if (*check_cmd) return CheckConfig(check_file);
  if (*version_cmd) {
    std::cout << "lingxi " << LINGXI_VERSION << " (commit " << LINGXI_GIT_COMMIT << ")\n"
              << "llama.cpp " << LINGXI_LLAMA_CPP_VERSION << "\n"
              << "devices: " << engine::llama::Devices() << "\n"
              << "system: " << engine::llama::SystemInfo() << "\n";
    return 0;
  }
  return 0;
}
