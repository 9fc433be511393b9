#include "core/readiness.h"

#include <algorithm>

namespace lingxi {

Readiness::Component Readiness::Register(std::string name) {
  std::lock_guard lock(mu_);
  ComponentState state;
  state.name = std::move(name);
  components_.push_back(std::move(state));
  return Component(this, components_.size() - 1);
}

void Readiness::Component::Stage(std::string stage, double progress) {
  std::lock_guard lock(owner_->mu_);
  auto& c = owner_->components_[index_];
  c.stage = std::move(stage);
  c.progress = std::clamp(progress, 0.0, 1.0);
}

void Readiness::Component::Ready() {
  std::lock_guard lock(owner_->mu_);
  auto& c = owner_->components_[index_];
  c.phase = ComponentState::Phase::kReady;
  c.progress = 1.0;
}

void Readiness::Component::Failed(std::string error) {
  std::lock_guard lock(owner_->mu_);
  auto& c = owner_->components_[index_];
  c.phase = ComponentState::Phase::kFailed;
  c.error = std::move(error);
}

bool Readiness::AllReady() const {
  std::lock_guard lock(mu_);
  return std::all_of(components_.begin(), components_.end(),
                     [](const ComponentState& c) { return c.phase == ComponentState::Phase::kReady; });
}

std::vector<ComponentState> Readiness::Snapshot() const {
  std::lock_guard lock(mu_);
  return components_;
}

}  // namespace lingxi
