// Test support: an in-process lingxi HTTP server on a free port, running on its own thread,
// with the real error responder. Shut down and joined by the destructor.
#pragma once

#include <memory>
#include <thread>

#include "api/errors.h"
#include "http/server.h"

namespace lingxi::testing {

class TestServer {
 public:
  explicit TestServer(http::Router router, http::ServerOptions options = DefaultOptions(),
                      http::Observer* observer = nullptr)
      : server_(std::make_unique<http::Server>(WithPortZero(options), std::move(router), api::ErrorResponse,
                                               observer)) {
    Status s = server_->Listen();
    if (!s.ok()) throw std::runtime_error(s.ToString());
    thread_ = std::thread([this] { server_->Run(); });
  }
  ~TestServer() {
    server_->Shutdown();
    Join();
  }
  static http::ServerOptions DefaultOptions() {
    http::ServerOptions o;
    o.io_threads = 2;
    o.access_log = false;
    return o;
  }
  int port() const { return server_->port(); }
  void Shutdown() { server_->Shutdown(); }
  void Join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  static http::ServerOptions WithPortZero(http::ServerOptions o) {
    o.host = "127.0.0.1";
    o.port = 0;
    return o;
  }
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

}  // namespace lingxi::testing
