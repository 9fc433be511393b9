// SHA-256 as lower-case hex (API keys are kept and compared as these). Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace lingxi {

std::string Sha256Hex(std::string_view bytes);

}  // namespace lingxi
