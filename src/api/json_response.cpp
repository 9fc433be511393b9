#include "api/json_response.h"

namespace lingxi::api {

std::string JsonText(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

http::Response JsonResponse(int status, const nlohmann::json& j) { return http::Response::Json(status, JsonText(j)); }

}  // namespace lingxi::api
