// Test support: a small blocking HTTP/1.1 client over one TCP connection, for asserting what
// a real client sees (status, headers, body, connection reuse). Reads time out after 10 s so a
// broken server fails the test instead of hanging it. Not thread-safe; one per thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace lingxi::testing {

struct HttpResponse {
  int status = 0;                             // 0 when the connection failed or closed
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;                            // de-chunked
  std::string Header(const std::string& lower_name) const;
};

class HttpConnection {
 public:
  explicit HttpConnection(int port, std::string host = "127.0.0.1");
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  bool connected() const;
  // Sends one request (adds Host and Content-Length) and reads its response.
  HttpResponse Request(const std::string& method, const std::string& target, const std::string& body = "",
                       const std::vector<std::pair<std::string, std::string>>& headers = {});
  // Writes raw bytes (for pipelining and malformed requests).
  bool SendRaw(const std::string& bytes);
  // Reads one response from the connection; `head_request` when it answers a HEAD (no body).
  HttpResponse ReadResponse(bool head_request = false);
  // True when the server closes the connection within `timeout` (reads EOF or reset).
  bool WaitClosed(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One request on a fresh connection.
HttpResponse Fetch(int port, const std::string& method, const std::string& target, const std::string& body = "",
                   const std::vector<std::pair<std::string, std::string>>& headers = {});

}  // namespace lingxi::testing
