// redis::Client: asynchronous Redis commands for the I/O threads, shared by the rate limiter
// and the cache. Transport is Asio; encoding and reply parsing are hiredis's (its command
// formatter and its reader), so nothing blocks an I/O thread.
//
// Connections are pooled per executor, like http::HttpClient's. After a failure the client
// answers Unavailable at once for `retry_interval` instead of connecting on every request, so
// callers degrade (local counting, skip the tier) quickly while Redis is down; the first call
// after the interval tries again, which is how it recovers by itself.
// Thread-safe; Close() before the executors' io_contexts are destroyed.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "http/message.h"

namespace lingxi::redis {

struct Reply {
  enum class Type { kString, kStatus, kInteger, kNil, kArray, kError };
  Type type = Type::kNil;
  std::string str;  // kString, kStatus, kError
  int64_t integer = 0;
  std::vector<Reply> elements;  // kArray
};

struct Options {
  std::string host = "127.0.0.1";
  std::string port = "6379";
  std::string password;  // AUTH when set
  std::chrono::milliseconds timeout{250};          // connect, and each command
  std::chrono::milliseconds retry_interval{1000};  // after a failure, fail fast this long
  size_t max_idle = 16;                            // pooled connections
};

// Parses "redis://[:password@]host[:port]" or "host:port".
Result<Options> ParseUrl(std::string_view url);

// A Lua script run with EVALSHA, loaded with EVAL when Redis does not know it yet.
struct Script {
  explicit Script(std::string source);
  std::string source;
  std::string sha1;  // hex
};

class Client {
 public:
  explicit Client(Options options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // One command. Unavailable when Redis cannot be reached or times out; an error reply is a
  // Reply of type kError (the command ran and failed).
  http::Task<Result<Reply>> Command(std::vector<std::string> args);
  http::Task<Result<Reply>> Eval(const Script& script, std::vector<std::string> keys, std::vector<std::string> args);

  // False from a failure until a command succeeds again.
  bool up() const { return up_.load(std::memory_order_relaxed); }
  void Close();

 private:
  struct Connection;
  http::Task<Result<std::unique_ptr<Connection>>> Connect();
  http::Task<Result<Reply>> RoundTrip(Connection& c, const std::string& wire);
  std::unique_ptr<Connection> Checkout(const boost::asio::any_io_executor& ex);
  void Return(std::unique_ptr<Connection> c);
  void MarkDown(const Status& why);

  Options options_;
  std::atomic<bool> up_{true};
  std::atomic<int64_t> down_until_{0};  // steady clock ns
  std::mutex mu_;
  bool closed_ = false;                            // guarded by mu_
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_
};

}  // namespace lingxi::redis
