// Readiness: what /ready reports. Each engine (or other component that must load before
// traffic) registers a Component and reports its stages as it loads.
//
// Thread-safe: components report from their loading threads, /ready reads from I/O threads.
// The Readiness object is owned by main and outlives every Component it hands out.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace lingxi {

struct ComponentState {
  enum class Phase { kLoading, kReady, kFailed };
  std::string name;      // "engine:qwen2.5-vl"
  Phase phase = Phase::kLoading;
  std::string stage;     // "base model", "adapters", "head", ...
  double progress = 0;   // 0..1 within the whole load
  std::string error;     // set when failed
};

class Readiness {
 public:
  // A handle a component uses to report its own progress.
  class Component {
   public:
    void Stage(std::string stage, double progress);
    void Ready();
    void Failed(std::string error);

   private:
    friend class Readiness;
    Component(Readiness* owner, size_t index) : owner_(owner), index_(index) {}
    Readiness* owner_;
    size_t index_;
  };

  // Registers a component that starts in the loading phase.
  Component Register(std::string name);

  // True when every registered component is ready (and true when there are none).
  bool AllReady() const;
  std::vector<ComponentState> Snapshot() const;

 private:
  mutable std::mutex mu_;
  std::vector<ComponentState> components_;  // guarded by mu_
};

}  // namespace lingxi
