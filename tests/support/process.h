// Test support: a child process (lingxi, redis-server, prometheus, ...) started by a fixture
// and stopped by its PID. Its stdout and stderr go to a log file the test can read and wait on.
// Not thread-safe; owned by one test.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace lingxi::testing {

class Process {
 public:
  // Starts argv[0] with the given arguments; `env` entries ("K=V") are added to the
  // inherited environment (or replace inherited ones of the same name).
  Process(std::vector<std::string> argv, std::vector<std::string> env = {});
  ~Process();  // SIGKILLs the child if it is still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  std::string Log() const;

  // Waits until the log matches `pattern`; returns the first capture group (or the whole
  // match). nullopt on timeout or when the process exits first.
  std::optional<std::string> WaitForLog(const std::regex& pattern,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Sends a signal.
  void Signal(int sig);
  // Waits for exit; returns the exit code (128+signal when killed) or nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  bool Running();

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string log_path_;
};

// A TCP port that was free a moment ago on 127.0.0.1 (for servers that cannot bind port 0).
int FreePort();

// A fresh empty directory under $TMPDIR, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Writes `content` to `path`.
void WriteFile(const std::string& path, const std::string& content);

}  // namespace lingxi::testing
