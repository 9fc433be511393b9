// Test support for end-to-end tests: the real `lingxi` binary started on a free port.
#pragma once

#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.h"
#include "support/process.h"

namespace lingxi::testing {

class LingxiProcess {
 public:
  // Without --model it serves the demo model, generated into a private cache folder.
  explicit LingxiProcess(std::vector<std::string> args = {}, std::vector<std::string> env = {})
      : process_(Argv(std::move(args)), WithCache(std::move(env), cache_)) {
    auto port = process_.WaitForLog(std::regex(R"(lingxi listening.*port[=":]+(\d+))"));
    if (!port) throw std::runtime_error("lingxi did not start:\n" + process_.Log());
    port_ = std::stoi(*port);
  }
  int port() const { return port_; }
  // Waits until /ready answers 200 (the model has loaded); false on timeout.
  bool WaitReady(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  Process& process() { return process_; }

 private:
  static std::vector<std::string> Argv(std::vector<std::string> args) {
    std::vector<std::string> argv = {LINGXI_BINARY, "serve", "--port", "0"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  static std::vector<std::string> WithCache(std::vector<std::string> env, const TempDir& cache) {
    env.push_back("LINGXI_CACHE=" + cache.path());
    return env;
  }
  TempDir cache_;  // declared before process_: constructed first, removed last
  Process process_;
  int port_ = 0;
};

// The tiny test model (served as "tiny-chat", its file's stem), made once per test binary by
// the binary's own make-test-model command.
inline const std::string& TestModelFile() {
  static TempDir dir;
  static std::string path = [] {
    std::string p = dir.path() + "/tiny-chat.gguf";
    Process make({LINGXI_BINARY, "make-test-model", p});
    if (make.Wait(std::chrono::seconds(60)) != 0) throw std::runtime_error("make-test-model failed: " + make.Log());
    return p;
  }();
  return path;
}

// The sum of every /metrics sample whose line starts with `series` ("name{label=...").
inline double MetricSum(int port, const std::string& series) {
  std::istringstream in(Fetch(port, "GET", "/metrics").body);
  double sum = 0;
  for (std::string line; std::getline(in, line);)
    if (line.rfind(series, 0) == 0) sum += std::stod(line.substr(line.rfind(' ') + 1));
  return sum;
}

inline bool LingxiProcess::WaitReady(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Fetch(port_, "GET", "/ready").status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace lingxi::testing
