// HttpClient: HTTP/1.1 client for upstream servers: keep-alive connection pool, TLS with
// certificate and host name verification, streamed response bodies, per-phase timeouts.
//
// Coroutines run on the caller's executor; pooled connections are only reused on the
// executor (I/O thread) that opened them, so no socket crosses threads. Send(), Read() and
// Abort() of one response are used from that one executor. The pool itself is thread-safe.
// Close() must be called before the io_contexts of the connections are destroyed.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "http/message.h"

namespace lingxi::http {

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // name or address; IPv6 without brackets
  std::string port;    // always set: "80", "443" or explicit
  std::string path;    // without a trailing slash: "/v1", "" for the root

  // "https://api.example.com/v1" -> {https, api.example.com, 443, /v1}. No user info, query
  // or fragment; those are refused.
  static Result<Url> Parse(std::string_view text);
  bool tls() const { return scheme == "https"; }
  std::string Origin() const;      // "https://api.example.com:443"
  std::string HostHeader() const;  // "api.example.com" (port only when not the default)
  void AppendHostHeader(std::string& out) const;  // HostHeader(), appended to `out`
  std::string ToString() const;    // scheme://host[:port]path
};

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{2000};  // TCP connect plus TLS handshake
  bool verify_tls = true;
  std::string ca_file;                 // PEM bundle to trust; "" = the system store
  size_t max_idle_per_origin = 64;     // pooled keep-alive connections kept per origin
  std::chrono::milliseconds max_idle_time{30'000};  // older idle connections are not reused
};

struct ClientRequest {
  std::string method = "GET";
  Url url;             // scheme, host, port; `url.path` is sent as the target
  Headers headers;     // Host, Content-Length and User-Agent are added
  std::string body;
  // From sending the request to the end of the response headers. A server that trickles its
  // headers (slow loris) is cut here.
  std::chrono::milliseconds header_timeout{60'000};
};

class HttpClient;
class ResponseParser;
struct Connection;

// A response whose headers are in. The body is read piece by piece as it arrives.
class ClientResponse {
 public:
  ~ClientResponse();
  int status() const { return status_; }
  const Headers& headers() const { return headers_; }
  // The next body bytes (any size >= 1), or nullopt at the end. Each read may wait `idle`;
  // longer silence fails with DeadlineExceeded.
  Task<Result<std::optional<std::string>>> Read(std::chrono::milliseconds idle);
  // The rest of the body, at most `limit` bytes (BadGateway beyond).
  Task<Result<std::string>> ReadAll(std::chrono::milliseconds idle, size_t limit);
  // Closes the connection: a pending Read completes at once with an error. Same executor.
  void Abort();

 private:
  friend class HttpClient;
  ClientResponse(HttpClient* client, std::unique_ptr<Connection> conn, std::unique_ptr<ResponseParser> parser);
  // Parses what is buffered, or reads more: returns once the body grew, it ended, or failed.
  Task<Status> Fill(std::chrono::milliseconds idle);
  HttpClient* client_;
  std::unique_ptr<Connection> conn_;
  std::unique_ptr<ResponseParser> parser_;
  int status_ = 0;
  Headers headers_;
  bool done_ = false;
  bool failed_ = false;
};

class HttpClient {
 public:
  explicit HttpClient(ClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `request` on a pooled or new connection of the calling executor and waits for the
  // response headers. Connection failures are Unavailable (nothing was answered; safe to try
  // elsewhere), timeouts DeadlineExceeded, TLS verification failures BadGateway. A reused
  // connection the server had already closed is retried once on a new one.
  Task<Result<std::unique_ptr<ClientResponse>>> Send(ClientRequest request);

  // Drops every pooled connection and stops pooling. Call on shutdown, before the executors'
  // io_contexts are destroyed.
  void Close();
  size_t idle_connections() const;

 private:
  friend class ClientResponse;
  struct TlsContext;
  Task<Result<std::unique_ptr<Connection>>> Connect(const Url& url);
  std::unique_ptr<Connection> Checkout(const std::string& origin, const boost::asio::any_io_executor& ex);
  void Return(std::unique_ptr<Connection> conn);

  ClientOptions options_;
  std::unique_ptr<TlsContext> tls_;
  mutable std::mutex mu_;
  bool closed_ = false;                                                      // guarded by mu_
  std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;  // guarded by mu_
};

}  // namespace lingxi::http
