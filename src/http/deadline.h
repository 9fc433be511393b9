// Deadline: bounds the operations on one socket. When it passes, the socket's pending
// operations are cancelled and expired() tells the caller that this was a timeout.
//
// Moving a deadline is a store, not a timer operation: the one timer behind it is re-armed
// only when it fires before the current deadline or the deadline moves earlier than where it
// is armed. A keep-alive connection that sets a deadline for every read and write therefore
// touches its timer about once per timeout period, not once per operation (which is what
// beast::tcp_stream does, at the cost of a timer wait and a cancelled handler per I/O).
//
// Used on the socket's own executor only.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>

#include "core/coarse_clock.h"

namespace lingxi::http {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Deadline(boost::asio::ip::tcp::socket& socket);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  void ExpiresAt(Clock::time_point at);
  // From the coarse clock: a deadline may come up to a tick (~4 ms) early, nothing for timeouts.
  void ExpiresAfter(Clock::duration d) { ExpiresAt(CoarseNow() + d); }
  void Never();
  // The deadline passed and the socket's operations were cancelled. Cleared by the setters.
  bool expired() const;

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared with the pending timer wait
};

}  // namespace lingxi::http
