// Balancer: chooses the upstream replica for each attempt of a request, and keeps each
// replica's circuit breaker and health.
//
//   - Least outstanding requests, ties spread round-robin.
//   - Session affinity: a request with an affinity key goes to the key's replica by
//     rendezvous hashing (stable while replicas come and go), unless that replica has more
//     than `affinity_slack` requests over the least loaded one.
//   - Circuit breaker per replica: `failure_threshold` consecutive failures open it for
//     `open_duration`; then one request is let through (half-open); its success closes the
//     circuit, its failure opens it again.
//   - Active health checks mark replicas unhealthy; unhealthy replicas get no requests.
// Thread-safe (one mutex; the critical sections are a few comparisons per replica).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace lingxi::engine::upstream {

using Clock = std::chrono::steady_clock;

struct BalancerOptions {
  int failure_threshold = 3;
  std::chrono::milliseconds open_duration{5000};
  int affinity_slack = 8;
};

enum class Circuit { kClosed, kOpen, kHalfOpen };

struct ReplicaState {
  std::string label;  // the base URL, for logs and metric labels
  int outstanding = 0;
  bool healthy = true;
  Circuit circuit = Circuit::kClosed;
};

class Balancer {
 public:
  Balancer(std::vector<std::string> labels, BalancerOptions options);

  // The replica for the next attempt, or -1 when none may take it. Replicas in `tried` are
  // chosen only when no other one can be. `affinity` 0 means none.
  int Acquire(uint64_t affinity, std::span<const int> tried, Clock::time_point now);
  enum class Outcome { kSuccess, kFailure, kNeutral };  // neutral: the client's fault or cancel
  // Ends an attempt. Returns true when this changed the replica's circuit state.
  bool Release(int replica, Outcome outcome, Clock::time_point now);
  // Returns true when this changed the replica's health.
  bool SetHealthy(int replica, bool healthy);

  size_t size() const { return replicas_.size(); }
  ReplicaState State(int replica) const;
  // True when at least one replica could take a request now.
  bool AnyAvailable(Clock::time_point now) const;

 private:
  struct Replica {
    ReplicaState s;
    int failures = 0;           // consecutive
    Clock::time_point open_until;
    bool probe_in_flight = false;
  };
  bool Allowed(const Replica& r, Clock::time_point now) const;

  BalancerOptions options_;
  mutable std::mutex mu_;
  std::vector<Replica> replicas_;  // guarded by mu_
  uint64_t turn_ = 0;              // guarded by mu_; rotates ties
};

}  // namespace lingxi::engine::upstream
