// SHA-256 as lower-case hex (API keys are kept and compared as these, media are keyed by
// them), and the hex form of any digest. Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace lingxi {

std::string Sha256Hex(std::string_view bytes);
// "0a1b..." for the bytes of a digest.
std::string HexDigest(const unsigned char* bytes, size_t n);

}  // namespace lingxi
