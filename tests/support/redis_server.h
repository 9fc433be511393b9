// Test support: a real redis-server (Debian's) on a free loopback port, with no persistence,
// started and stopped by PID. Restart() brings it back on the same port.
#pragma once

#include <memory>
#include <regex>
#include <stdexcept>
#include <string>

#include "support/process.h"

namespace lingxi::testing {

class RedisServer {
 public:
  RedisServer() : port_(FreePort()) {
    // A free port can be taken by a test in another process before redis binds it: pick
    // another then. (Start() alone keeps the port: a restart must come back on it.)
    for (int attempt = 0;; ++attempt) {
      try {
        Start();
        return;
      } catch (const std::runtime_error& e) {
        if (attempt == 4 || std::string(e.what()).find("Address already in use") == std::string::npos) throw;
        port_ = FreePort();
      }
    }
  }
  int port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  void Stop() { process_.reset(); }
  void Start() {
    process_ = std::make_unique<Process>(std::vector<std::string>{
        "/usr/bin/redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "", "--appendonly",
        "no", "--dir", dir_.path()});
    if (!process_->WaitForLog(std::regex("Ready to accept connections")))
      throw std::runtime_error("redis-server did not start:\n" + process_->Log());
  }

 private:
  TempDir dir_;
  int port_;
  std::unique_ptr<Process> process_;
};

}  // namespace lingxi::testing
