// Test support for engine tests: a generated test model on disk, a LlamaEngine over it, and an
// io_context on its own thread for the result mailboxes.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <future>
#include <thread>

#include "core/readiness.h"
#include "engine/llama/llama_engine.h"
#include "engine/llama/test_model.h"
#include "metrics/registry.h"
#include "support/process.h"

namespace lingxi::testing {

// The default test model, written once per test binary.
inline const std::string& TestModelPath() {
  static TempDir dir;
  static std::string path = [] {
    std::string p = dir.path() + "/lingxi-test.gguf";
    Status s = engine::llama::WriteTestModel({}, p);
    if (!s.ok()) throw std::runtime_error(s.ToString());
    return p;
  }();
  return path;
}

struct Answer {
  std::string text;
  engine::ChatChunk last;
  int chunks = 0;
};

class EngineFixture {
 public:
  explicit EngineFixture(engine::llama::LlamaEngineOptions options = {}) {
    if (options.model_path.empty()) options.model_path = TestModelPath();
    if (options.threads == 0) options.threads = 2;
    if (options.context == 4096) options.context = 512;
    auto e = engine::llama::CreateLlamaEngine(options, readiness.Register("engine"), metrics);
    if (!e.ok()) throw std::runtime_error(e.status().ToString());
    engine = std::move(*e);
    io_thread = std::thread([this] { io.run(); });
  }
  ~EngineFixture() {
    engine->Stop();
    work.reset();
    io.stop();
    io_thread.join();
  }

  Result<std::shared_ptr<engine::ChunkStream>> Submit(engine::ChatRequest r) {
    return engine->Submit(std::move(r), io.get_executor());
  }

  // Reads a stream to its end on the io thread.
  Answer Drain(std::shared_ptr<engine::ChunkStream> s) {
    auto f = boost::asio::co_spawn(io, [s]() -> http::Task<Answer> {
      Answer a;
      while (auto c = co_await s->Next()) {
        a.text += c->delta;
        ++a.chunks;
        if (c->finish) a.last = *c;
      }
      co_return a;
    }, boost::asio::use_future);
    return f.get();
  }

  Answer Ask(engine::ChatRequest r) {
    auto s = Submit(std::move(r));
    if (!s.ok()) throw std::runtime_error(s.status().ToString());
    return Drain(*s);
  }

  metrics::Metrics metrics;
  Readiness readiness;
  std::unique_ptr<engine::Engine> engine;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work = boost::asio::make_work_guard(io);
  std::thread io_thread;
};

inline engine::ChatRequest UserSays(std::string text, int max_tokens = 16) {
  engine::ChatRequest r;
  r.messages.push_back(engine::Message::OfText("user", std::move(text)));
  r.sampling.temperature = 0;
  r.sampling.max_tokens = max_tokens;
  return r;
}

}  // namespace lingxi::testing
