// Status and Result<T>: the one way lingxi reports a failure on a request path.
//
// A Status is a code plus a human message. Named constructors say what went wrong
// (InvalidArgument, NotFound, Unavailable, ...). Request-path functions return Status or
// Result<T>; exceptions are used only at module edges (a library that throws is caught there).
// The mapping of a Code to an HTTP status and an OpenAI error body lives in exactly one place:
// api/errors.h. Both types are value types; copying is cheap when ok.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace lingxi {

class Status {
 public:
  enum class Code {
    kOk,
    kInvalidArgument,    // the caller sent something malformed (400)
    kUnauthenticated,    // missing or wrong credentials (401)
    kPermissionDenied,   // credentials fine, action not allowed (403)
    kNotFound,           // no such route, model or object (404)
    kMethodNotAllowed,   // route exists, method does not (405)
    kPayloadTooLarge,    // body over the configured limit (413)
    kResourceExhausted,  // rate limited (429)
    kInternal,           // a bug or an unexpected library failure (500)
    kBadGateway,         // an upstream server failed or answered nonsense (502)
    kUnavailable,        // overloaded, draining or not ready; retry later (503)
    kDeadlineExceeded,   // a timeout on our side (504)
  };

  Status() = default;
  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status Unauthenticated(std::string m) { return {Code::kUnauthenticated, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status MethodNotAllowed(std::string m) { return {Code::kMethodNotAllowed, std::move(m)}; }
  static Status PayloadTooLarge(std::string m) { return {Code::kPayloadTooLarge, std::move(m)}; }
  static Status ResourceExhausted(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
  static Status BadGateway(std::string m) { return {Code::kBadGateway, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status DeadlineExceeded(std::string m) { return {Code::kDeadlineExceeded, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // Stable lower-case name of the code, used as a metric label and in logs.
  std::string_view code_name() const;

  // "invalid_argument: server.port: expected an integer" — for logs and CLI output.
  std::string ToString() const;

  // Prefixes the message with context ("server.port: " + message); keeps the code.
  Status WithContext(std::string_view context) const;

 private:
  Status(Code c, std::string m) : code_(c), message_(std::move(m)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// Either a T or a non-ok Status.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}                       // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace lingxi
