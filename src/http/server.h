// Server: HTTP/1.1 over Boost.Beast with C++20 coroutines.
//
// One io_context per I/O thread; the acceptor hands each connection to the next context, and
// a connection lives on that one thread. Keep-alive and pipelined requests are answered in
// order. Limits: header size 16 KiB, body `body_limit` (413 beyond), header/body/idle
// timeouts. Every request gets an id (X-Request-Id echoed or made) and one access-log line.
//
// Lifecycle: Listen() binds, Run() blocks on the calling thread until shutdown completes.
// Shutdown() (thread-safe, also on SIGINT/SIGTERM once HandleSignals() was called) stops
// accepting, closes idle connections, lets in-flight requests finish (their connections are
// then closed) and force-closes what remains after `shutdown_timeout`.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/status.h"
#include "http/message.h"
#include "http/router.h"

namespace lingxi::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8000;  // 0 = any free port; see Server::port()
  int io_threads = 1;    // >= 1
  uint64_t body_limit = 32ull << 20;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{60'000};
  std::chrono::milliseconds idle_timeout{60'000};  // also bounds each response write
  std::chrono::milliseconds shutdown_timeout{30'000};
  bool access_log = true;
};

// What the server tells the outside about each request (metrics live outside http/).
struct RequestRecord {
  std::string_view method;
  std::string_view route;  // matched pattern, or "" when no route matched
  int status = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  std::chrono::nanoseconds duration{0};
};

class Observer {
 public:
  virtual ~Observer() = default;
  virtual void OnRequestStart() = 0;                  // called on the connection's thread
  virtual void OnRequestEnd(const RequestRecord&) = 0;  // after the last byte is written
};

// Turns a failure the server detects itself (404, 405, 413, 400, 503 while draining) into a
// response; api/ supplies it so that the error body has one shape everywhere.
using ErrorResponder = std::function<Response(const Status&)>;

class Server {
 public:
  Server(ServerOptions options, Router router, ErrorResponder on_error, Observer* observer = nullptr);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket. Fails with a message naming the address.
  Status Listen();
  // The bound port (after Listen()).
  uint16_t port() const;
  // Installs SIGINT/SIGTERM handlers that call Shutdown().
  void HandleSignals();
  // Serves until shutdown completes. Call once, after Listen().
  void Run();
  // Begins graceful shutdown. Thread-safe and idempotent.
  void Shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lingxi::http
