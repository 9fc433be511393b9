// HTTP request and response as plain values; Beast stays behind server.cpp.
//
// A Request is filled by the server and handed to one handler; the handler owns it for the
// call. A Response is either a whole body or a BodyStream the server pulls chunk by chunk
// (SSE, long answers) and sends with chunked transfer encoding.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lingxi::http {

template <typename T>
using Task = boost::asio::awaitable<T>;

// Header names compare case-insensitively; order and duplicates are kept.
class Headers {
 public:
  // First value of `name`, or empty when absent.
  std::string_view Get(std::string_view name) const;
  bool Has(std::string_view name) const;
  // Replaces every value of `name` with one value.
  void Set(std::string_view name, std::string_view value);
  void Add(std::string_view name, std::string_view value);
  size_t size() const { return entries_.size(); }
  // Calls f(name, value) for each header, in order.
  template <typename F>
  void ForEach(F&& f) const {
    for (const auto& e : entries_) f(View(e.name), View(e.value));
  }

 private:
  // Names and values live back to back in one string, so a header set costs two allocations
  // (the text and the entries), not two strings per header.
  struct Span {
    uint32_t at = 0, size = 0;
  };
  struct Entry {
    Span name, value;
  };
  std::string_view View(Span s) const { return std::string_view(text_).substr(s.at, s.size); }
  Span Store(std::string_view s);

  std::string text_;
  std::vector<Entry> entries_;
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Tells a handler that its client closed the connection while the request was being handled,
// so long work can stop. Used on the connection's thread only. (A streamed response learns it
// from a failed write instead: see BodyStream.)
class ClientGone {
 public:
  // Runs `f` once when the client goes (at once if it already has).
  void OnGone(std::function<void()> f);
  bool gone() const { return gone_; }
  void Fire();

 private:
  bool gone_ = false;
  std::function<void()> callback_;
};

struct Request {
  std::string method;          // "GET", "POST", ...
  int version = 11;            // 10 for HTTP/1.0, 11 for HTTP/1.1
  std::string target;          // as sent: "/v1/models?x=1"
  std::string path;            // "/v1/models"
  std::string query;           // "x=1" (without '?')
  Headers headers;
  std::string body;
  std::string remote_address;  // peer IP of the TCP connection
  std::string request_id;      // X-Request-Id from the client when valid, else generated
  std::string principal;       // the API key's name once admitted ("" in open mode)
  std::vector<std::pair<std::string, std::string>> path_params;  // "{id}" segments of the route
  std::shared_ptr<ClientGone> client_gone = std::make_shared<ClientGone>();

  std::string_view PathParam(std::string_view name) const;
};

// Pulled by the server after the response headers are sent. Next() returns the next chunk,
// or nullopt at the end. The server destroys the stream when the client goes away, so a
// producer learns of a disconnect through the destructor.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  virtual Task<std::optional<std::string>> Next() = 0;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;                    // used when stream is null
  std::unique_ptr<BodyStream> stream;  // when set, the body is streamed (chunked)

  static Response Json(int status, std::string body);
  static Response Text(int status, std::string body, std::string content_type = "text/plain; charset=utf-8");
};

using Handler = std::function<Task<Response>(Request&)>;

}  // namespace lingxi::http
