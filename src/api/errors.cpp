#include "api/errors.h"

#include "api/json_response.h"

namespace lingxi::api {

using Code = Status::Code;

int HttpStatusOf(const Status& s) {
  switch (s.code()) {
    case Code::kOk: return 200;
    case Code::kInvalidArgument: return 400;
    case Code::kUnauthenticated: return 401;
    case Code::kPermissionDenied: return 403;
    case Code::kNotFound: return 404;
    case Code::kMethodNotAllowed: return 405;
    case Code::kPayloadTooLarge: return 413;
    case Code::kResourceExhausted: return 429;
    case Code::kInternal: return 500;
    case Code::kBadGateway: return 502;
    case Code::kUnavailable: return 503;
    case Code::kDeadlineExceeded: return 504;
  }
  return 500;
}

const char* ErrorTypeOf(const Status& s) {
  switch (s.code()) {
    case Code::kUnauthenticated: return "authentication_error";
    case Code::kPermissionDenied: return "permission_error";
    case Code::kResourceExhausted: return "rate_limit_error";
    case Code::kInternal:
    case Code::kBadGateway:
    case Code::kUnavailable:
    case Code::kDeadlineExceeded: return "server_error";
    default: return "invalid_request_error";
  }
}

nlohmann::json ErrorJson(const Status& s) {
  return {{"error",
           {{"message", s.message()},
            {"type", ErrorTypeOf(s)},
            {"param", nullptr},
            {"code", std::string(s.code_name())}}}};
}

http::Response ErrorResponse(const Status& s) {
  auto res = JsonResponse(HttpStatusOf(s), ErrorJson(s));
  if (s.code() == Status::Code::kUnavailable) res.headers.Set("Retry-After", "1");
  if (s.code() == Status::Code::kUnauthenticated) res.headers.Set("WWW-Authenticate", "Bearer");
  return res;
}

}  // namespace lingxi::api
