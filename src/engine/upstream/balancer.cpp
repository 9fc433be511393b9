#include "engine/upstream/balancer.h"

#include <boost/container/small_vector.hpp>

#include <algorithm>
#include <limits>

namespace lingxi::engine::upstream {
namespace {

// splitmix64: a well-mixed score for rendezvous hashing.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

Balancer::Balancer(std::vector<std::string> labels, BalancerOptions options) : options_(options) {
  for (auto& l : labels) replicas_.push_back(Replica{ReplicaState{std::move(l)}, 0, {}, false});
}

bool Balancer::Allowed(const Replica& r, Clock::time_point now) const {
  if (!r.s.healthy) return false;
  switch (r.s.circuit) {
    case Circuit::kClosed: return true;
    case Circuit::kOpen: return now >= r.open_until;  // its half-open probe may go
    case Circuit::kHalfOpen: return !r.probe_in_flight;
  }
  return false;
}

int Balancer::Acquire(uint64_t affinity, std::span<const int> tried, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto was_tried = [&](int i) { return std::find(tried.begin(), tried.end(), i) != tried.end(); };
  boost::container::small_vector<int, 16> candidates;
  for (int pass = 0; pass < 2 && candidates.empty(); ++pass)
    for (int i = 0; i < static_cast<int>(replicas_.size()); ++i)
      if (Allowed(replicas_[i], now) && (pass == 1 || !was_tried(i))) candidates.push_back(i);
  if (candidates.empty()) return -1;

  int least = std::numeric_limits<int>::max();
  for (int i : candidates) least = std::min(least, replicas_[i].s.outstanding);
  int chosen = -1;
  if (affinity != 0) {
    uint64_t best = 0;
    for (int i : candidates) {
      uint64_t score = Mix(affinity ^ Mix(static_cast<uint64_t>(i) + 1));
      if (chosen < 0 || score > best) {
        best = score;
        chosen = i;
      }
    }
    if (replicas_[chosen].s.outstanding > least + options_.affinity_slack) chosen = -1;  // too busy: spread
  }
  if (chosen < 0) {
    std::vector<int> ties;
    for (int i : candidates)
      if (replicas_[i].s.outstanding == least) ties.push_back(i);
    chosen = ties[turn_++ % ties.size()];
  }
  Replica& r = replicas_[chosen];
  if (r.s.circuit == Circuit::kOpen) r.s.circuit = Circuit::kHalfOpen;
  if (r.s.circuit == Circuit::kHalfOpen) r.probe_in_flight = true;
  ++r.s.outstanding;
  return chosen;
}

bool Balancer::Release(int replica, Outcome outcome, Clock::time_point now) {
  std::lock_guard lock(mu_);
  Replica& r = replicas_[replica];
  --r.s.outstanding;
  Circuit before = r.s.circuit;
  bool probe = r.s.circuit == Circuit::kHalfOpen && r.probe_in_flight;
  if (probe) r.probe_in_flight = false;
  if (outcome == Outcome::kSuccess) {
    r.failures = 0;
    if (probe) r.s.circuit = Circuit::kClosed;
  } else if (outcome == Outcome::kFailure) {
    ++r.failures;
    if (probe || (r.s.circuit == Circuit::kClosed && r.failures >= options_.failure_threshold)) {
      r.s.circuit = Circuit::kOpen;
      r.open_until = now + options_.open_duration;
    }
  }
  return r.s.circuit != before;
}

bool Balancer::SetHealthy(int replica, bool healthy) {
  std::lock_guard lock(mu_);
  bool changed = replicas_[replica].s.healthy != healthy;
  replicas_[replica].s.healthy = healthy;
  return changed;
}

ReplicaState Balancer::State(int replica) const {
  std::lock_guard lock(mu_);
  return replicas_[replica].s;
}

bool Balancer::AnyAvailable(Clock::time_point now) const {
  std::lock_guard lock(mu_);
  return std::any_of(replicas_.begin(), replicas_.end(), [&](const Replica& r) { return Allowed(r, now); });
}

}  // namespace lingxi::engine::upstream
