// HTTP/1.1 message parsers that write straight into lingxi's own types: Beast's parsing rules
// (limits, chunked bodies, obsolete line folding, keep-alive) without its field container, so
// a request costs no second copy of its headers. Fed with put() from the connection's buffer.
#pragma once

#include <boost/beast/http/basic_parser.hpp>

#include <cstddef>

#include <string>

#include "http/message.h"

namespace lingxi::http {

// Spare capacity left after a body: the bytes a JSON parser (simdjson) may read past the
// end, so the body is parsed where it lies instead of being copied to add them.
inline constexpr size_t kBodyPadding = 64;

// Fills a Request: method, version, target, path and query, headers, body.
class RequestParser : public boost::beast::http::basic_parser<true> {
 public:
  explicit RequestParser(Request& req) : req_(req) {}

 private:
  using error_code = boost::beast::error_code;
  using string_view = boost::beast::string_view;
  void on_request_impl(boost::beast::http::verb, string_view method, string_view target, int version,
                       error_code&) override;
  void on_response_impl(int, string_view, int, error_code&) override {}
  void on_field_impl(boost::beast::http::field, string_view name, string_view value, error_code&) override;
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override;
  std::size_t on_body_impl(string_view body, error_code&) override;
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code&) override;
  void on_finish_impl(error_code&) override {}

  Request& req_;
};

// Reads a response: status and headers, then body bytes appended to body() as they are
// parsed (the reader takes them out between reads).
class ResponseParser : public boost::beast::http::basic_parser<false> {
 public:
  int status() const { return status_; }
  Headers& headers() { return headers_; }
  std::string& body() { return body_; }

 private:
  using error_code = boost::beast::error_code;
  using string_view = boost::beast::string_view;
  void on_request_impl(boost::beast::http::verb, string_view, string_view, int, error_code&) override {}
  void on_response_impl(int code, string_view, int, error_code&) override { status_ = code; }
  void on_field_impl(boost::beast::http::field, string_view name, string_view value, error_code&) override {
    headers_.Add(std::string_view(name.data(), name.size()), std::string_view(value.data(), value.size()));
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) override {
    // Large bodies are read in pieces; a whole one keeps room for the padding.
    if (length && *length <= (1u << 20)) body_.reserve(static_cast<size_t>(*length) + kBodyPadding);
  }
  std::size_t on_body_impl(string_view body, error_code&) override {
    body_.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code&) override {
    body_.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  int status_ = 0;
  Headers headers_;
  std::string body_;
};

}  // namespace lingxi::http
