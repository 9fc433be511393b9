// Base64 (RFC 4648, standard alphabet, padded). Stateless; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lingxi {

std::string Base64Encode(std::string_view bytes);
// nullopt when `text` is not valid base64.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace lingxi
