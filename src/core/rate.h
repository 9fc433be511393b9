// RateLimit: "N per period" as written in config ("100/minute", "10/s", "off"). The limiter
// (ratelimit/) enforces it; config checks it at start-up. A plain value.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace lingxi {

struct RateLimit {
  int64_t count = 0;                  // 0 = unlimited
  std::chrono::microseconds period{0};
  bool enabled() const { return count > 0; }
  // "100/minute", "10/s", "5000/hour", "20/day" (second|s|sec, minute|m|min, hour|h, day|d);
  // "0", "off" or "" = unlimited.
  static Result<RateLimit> Parse(std::string_view text);
  std::string ToString() const;
};

}  // namespace lingxi
