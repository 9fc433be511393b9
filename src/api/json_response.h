// JSON bodies for API responses, written one way: invalid UTF-8 (model output, file names)
// becomes U+FFFD instead of throwing. Stateless; thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "http/message.h"

namespace lingxi::api {

std::string JsonText(const nlohmann::json& j);
http::Response JsonResponse(int status, const nlohmann::json& j);

}  // namespace lingxi::api
