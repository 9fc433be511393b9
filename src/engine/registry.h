// ModelRegistry: the models this process serves, by id. "default" always means the
// configured default model. A model appears as "loading" from the moment it is expected
// until its engine is added, so requests for it get 503 rather than 404 meanwhile.
// Thread-safe. Owned by main; engines are stopped by StopAll() before the server's event
// loops are destroyed.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/engine.h"

namespace lingxi::engine {

class ModelRegistry {
 public:
  // Declares a model that is loading. The first one expected or added is the default.
  void Expect(const std::string& id);
  // Adds a loaded engine, in the place of `expected` when given (an upstream whose id was only
  // known once it answered), else of the expected entry with the engine's id.
  void Add(std::shared_ptr<Engine> engine, const std::string& expected = "");
  // The expected model will not come: requests for it get 503 with `error`.
  void Fail(const std::string& id, std::string error);
  // By id or alias. NotFound for an unknown id (OpenAI: model_not_found), Unavailable while
  // it loads or after its load failed.
  Result<std::shared_ptr<Engine>> Find(const std::string& id) const;
  std::vector<EngineInfo> List() const;  // loaded models only
  void StopAll();

 private:
  struct Entry {
    std::string id;
    std::shared_ptr<Engine> engine;  // null while loading
    std::string error;               // set when loading failed
  };
  mutable std::mutex mu_;
  std::vector<Entry> entries_;  // guarded by mu_; the first is the default
};

}  // namespace lingxi::engine
