#include "engine/registry.h"

#include <algorithm>

namespace lingxi::engine {

void ModelRegistry::Expect(const std::string& id) {
  std::lock_guard lock(mu_);
  for (const auto& e : entries_)
    if (e.id == id) return;
  entries_.push_back({id, nullptr, ""});
}

void ModelRegistry::Add(std::shared_ptr<Engine> engine, const std::string& expected) {
  std::string id = engine->info().id;
  std::lock_guard lock(mu_);
  for (auto& e : entries_) {
    if (e.id == id || (!expected.empty() && e.id == expected)) {
      e.id = id;
      e.engine = std::move(engine);
      return;
    }
  }
  entries_.push_back({id, std::move(engine), ""});
}

void ModelRegistry::Fail(const std::string& id, std::string error) {
  std::lock_guard lock(mu_);
  for (auto& e : entries_)
    if (e.id == id) e.error = std::move(error);
}

Result<std::shared_ptr<Engine>> ModelRegistry::Find(const std::string& id) const {
  std::lock_guard lock(mu_);
  const Entry* found = nullptr;
  if ((id == "default" || id.empty()) && !entries_.empty()) found = &entries_.front();
  for (const auto& e : entries_) {
    if (e.id == id) found = &e;
    if (!found && e.engine) {
      const auto& aliases = e.engine->info().aliases;
      if (std::find(aliases.begin(), aliases.end(), id) != aliases.end()) found = &e;
    }
  }
  if (!found) return Status::NotFound("The model '" + id + "' does not exist");
  if (!found->error.empty())
    return Status::Unavailable("The model '" + found->id + "' failed to load: " + found->error);
  if (!found->engine) return Status::Unavailable("The model '" + found->id + "' is still loading; retry shortly");
  return found->engine;
}

std::vector<EngineInfo> ModelRegistry::List() const {
  std::lock_guard lock(mu_);
  std::vector<EngineInfo> out;
  for (const auto& e : entries_)
    if (e.engine) out.push_back(e.engine->info());
  return out;
}

void ModelRegistry::StopAll() {
  std::vector<std::shared_ptr<Engine>> engines;
  {
    std::lock_guard lock(mu_);
    for (const auto& e : entries_)
      if (e.engine) engines.push_back(e.engine);
  }
  for (auto& e : engines) e->Stop();
}

}  // namespace lingxi::engine
