// Now on the steady clock to within a tick (a few milliseconds), for timeouts and idle times:
// CLOCK_MONOTONIC_COARSE reads the kernel's last tick and no timer, several times cheaper than
// steady_clock::now(), and counts from the same origin. Latencies that are
// reported or histogrammed keep using steady_clock::now().
#pragma once

#include <time.h>

#include <chrono>

namespace lingxi {

inline std::chrono::steady_clock::time_point CoarseNow() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
}

}  // namespace lingxi
