// The one place where a Status becomes an HTTP status and an OpenAI-shaped error body:
//   {"error": {"message": "...", "type": "invalid_request_error", "param": null, "code": "not_found"}}
// Stateless; thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "http/message.h"

namespace lingxi::api {

int HttpStatusOf(const Status& status);
// The OpenAI error "type" for a status ("invalid_request_error", "rate_limit_error", ...).
const char* ErrorTypeOf(const Status& status);
// The error object alone, as an SSE event carries it mid-stream.
nlohmann::json ErrorJson(const Status& status);
// The JSON error response for a non-ok status.
http::Response ErrorResponse(const Status& status);

}  // namespace lingxi::api
