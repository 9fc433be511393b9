#include "core/rate.h"

#include <charconv>

#include <fmt/format.h>

namespace lingxi {

Result<RateLimit> RateLimit::Parse(std::string_view text) {
  if (text == "0" || text == "off" || text.empty()) return RateLimit{};
  auto slash = text.find('/');
  std::string_view n = text.substr(0, slash);
  int64_t count = 0;
  auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), count);
  if (ec != std::errc() || end != n.data() + n.size() || count < 0 || slash == std::string_view::npos)
    return Status::InvalidArgument(fmt::format("expected N/second, N/minute, N/hour, N/day or off, got \"{}\"", text));
  std::string_view unit = text.substr(slash + 1);
  int64_t seconds = unit == "s" || unit == "sec" || unit == "second"   ? 1
                    : unit == "m" || unit == "min" || unit == "minute" ? 60
                    : unit == "h" || unit == "hour"                    ? 3600
                    : unit == "d" || unit == "day"                     ? 86400
                                                                       : 0;
  if (seconds == 0) return Status::InvalidArgument(fmt::format("unknown period \"{}\" (use second, minute, hour or day)", unit));
  if (count == 0) return RateLimit{};
  return RateLimit{count, std::chrono::microseconds(seconds * 1'000'000)};
}

std::string RateLimit::ToString() const {
  if (!enabled()) return "off";
  int64_t s = period.count() / 1'000'000;
  return fmt::format("{}/{}", count, s == 1 ? "second" : s == 60 ? "minute" : s == 3600 ? "hour" : "day");
}

}  // namespace lingxi
