#include "http/parsers.h"

namespace lingxi::http {

void RequestParser::on_request_impl(boost::beast::http::verb, string_view method, string_view target, int version,
                                    error_code&) {
  req_.method.assign(method.data(), method.size());
  req_.version = version;
  req_.target.assign(target.data(), target.size());
  auto q = req_.target.find('?');
  req_.path.assign(req_.target, 0, q);
  if (q != std::string::npos) req_.query.assign(req_.target, q + 1);
}

void RequestParser::on_field_impl(boost::beast::http::field, string_view name, string_view value, error_code&) {
  req_.headers.Add(std::string_view(name.data(), name.size()), std::string_view(value.data(), value.size()));
}

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code&) {
  // The server checked the length against its limit before the body is read.
  if (length) req_.body.reserve(static_cast<size_t>(*length) + kBodyPadding);
}

std::size_t RequestParser::on_body_impl(string_view body, error_code&) {
  req_.body.append(body.data(), body.size());
  return body.size();
}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, string_view body, error_code&) {
  req_.body.append(body.data(), body.size());
  return body.size();
}

}  // namespace lingxi::http
