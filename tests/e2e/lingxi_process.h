// Test support for end-to-end tests: the real `lingxi` binary started on a free port.
#pragma once

#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/process.h"

namespace lingxi::testing {

class LingxiProcess {
 public:
  explicit LingxiProcess(std::vector<std::string> args = {}, std::vector<std::string> env = {})
      : process_(Argv(std::move(args)), std::move(env)) {
    auto port = process_.WaitForLog(std::regex(R"(lingxi listening.*port[=":]+(\d+))"));
    if (!port) throw std::runtime_error("lingxi did not start:\n" + process_.Log());
    port_ = std::stoi(*port);
  }
  int port() const { return port_; }
  Process& process() { return process_; }

 private:
  static std::vector<std::string> Argv(std::vector<std::string> args) {
    std::vector<std::string> argv = {LINGXI_BINARY, "serve", "--port", "0"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  Process process_;
  int port_ = 0;
};

}  // namespace lingxi::testing
