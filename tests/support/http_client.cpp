#include "support/http_client.h"

#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cctype>

namespace lingxi::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;

std::string HttpResponse::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

struct HttpConnection::Impl {
  net::io_context io;
  tcp::socket socket{io};
  beast::flat_buffer buffer;
  std::string host;
  bool ok = false;
};

HttpConnection::HttpConnection(int port, std::string host) : impl_(std::make_unique<Impl>()) {
  impl_->host = host;
  beast::error_code ec;
  impl_->socket.connect(tcp::endpoint(net::ip::make_address(host), static_cast<unsigned short>(port)), ec);
  impl_->ok = !ec;
  if (impl_->ok) {
    timeval tv{10, 0};
    setsockopt(impl_->socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(impl_->socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
}

HttpConnection::~HttpConnection() = default;

bool HttpConnection::connected() const { return impl_->ok; }

bool HttpConnection::SendRaw(const std::string& bytes) {
  beast::error_code ec;
  net::write(impl_->socket, net::buffer(bytes), ec);
  return !ec;
}

HttpResponse HttpConnection::ReadResponse(bool head_request) {
  HttpResponse out;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.skip(head_request);
  parser.body_limit(1ull << 30);
  beast::error_code ec;
  bhttp::read(impl_->socket, impl_->buffer, parser, ec);
  if (ec) return out;
  auto& m = parser.get();
  out.status = static_cast<int>(m.result_int());
  for (const auto& f : m) {
    std::string name(f.name_string());
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    out.headers[name] = std::string(f.value());
  }
  out.body = m.body();
  return out;
}

HttpResponse HttpConnection::Request(const std::string& method, const std::string& target, const std::string& body,
                                     const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: " + impl_->host + "\r\n";
  bool has_length = false;
  for (const auto& [k, v] : headers) {
    req += k + ": " + v + "\r\n";
    if (beast::iequals(k, "Content-Length") || beast::iequals(k, "Transfer-Encoding")) has_length = true;
  }
  if (!has_length && (!body.empty() || method == "POST")) req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  if (!SendRaw(req)) return {};
  return ReadResponse();
}

bool HttpConnection::WaitClosed(std::chrono::milliseconds timeout) {
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  setsockopt(impl_->socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char c;
  beast::error_code ec;
  impl_->socket.read_some(net::buffer(&c, 1), ec);
  return ec == net::error::eof || ec == net::error::connection_reset;
}

HttpResponse Fetch(int port, const std::string& method, const std::string& target, const std::string& body,
                   const std::vector<std::pair<std::string, std::string>>& headers) {
  HttpConnection c(port);
  if (!c.connected()) return {};
  return c.Request(method, target, body, headers);
}

}  // namespace lingxi::testing
