// Request ids: taken from the client's X-Request-Id when it is sane, made otherwise.
// Thread-safe (a thread-local generator per thread).
#pragma once

#include <string>
#include <string_view>

namespace lingxi {

// A new random id: 32 lower-case hex characters (128 bits).
std::string NewRequestId();

// True when a client-supplied id may be echoed and logged as is: 1..128 characters of
// [A-Za-z0-9._:-] (no spaces or control bytes that could forge log lines or headers).
bool IsValidRequestId(std::string_view id);

}  // namespace lingxi
