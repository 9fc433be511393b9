#include "engine/upstream/upstream_engine.h"

#include <boost/asio.hpp>
#include <boost/container/small_vector.hpp>

#include <nlohmann/json.hpp>

#include <future>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "core/log.h"
#include "engine/upstream/balancer.h"
#include "engine/upstream/openai_wire.h"
#include "engine/upstream/sse.h"
#include "engine/upstream/upstream_metrics.h"
#include "http/client.h"

namespace lingxi::engine::upstream {
namespace {

namespace net = boost::asio;
using std::chrono::milliseconds;
constexpr size_t kMaxAnswerBytes = 64u << 20;
constexpr size_t kMaxErrorBytes = 1u << 20;
constexpr size_t kMaxImageBytes = 20u << 20;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// What a cancelled request must reach to stop its upstream call at once.
struct CallState {
  net::any_io_executor executor;             // the call's; a cancel from elsewhere is posted here
  http::ClientResponse* response = nullptr;  // the attempt's response, while it is read
  net::steady_timer* backoff = nullptr;      // the wait between attempts
};

struct Attempt {
  Status status;
  bool emitted = false;  // something reached the client: no retry any more
  Balancer::Outcome outcome = Balancer::Outcome::kSuccess;
};

const char* ErrorKind(const Status& s, bool had_headers) {
  if (s.code() == Status::Code::kDeadlineExceeded) return "timeout";
  if (!had_headers) return "connect";
  return "cut";
}

// Runs `task` on `io` and waits for it from a thread outside it.
template <typename T>
Result<T> RunOn(net::io_context& io, net::awaitable<Result<T>> task) {
  std::promise<Result<T>> done;
  auto wrapper = [](net::awaitable<Result<T>> t, std::promise<Result<T>>& p) -> net::awaitable<void> {
    p.set_value(co_await std::move(t));
  };
  net::co_spawn(io, wrapper(std::move(task), done), [&done](std::exception_ptr e) {
    if (e) done.set_value(Status::Internal("unexpected exception in an upstream task"));
  });
  return done.get_future().get();
}

class UpstreamEngine : public Engine, public std::enable_shared_from_this<UpstreamEngine> {
 public:
  UpstreamEngine(UpstreamOptions options, std::vector<http::Url> bases, metrics::Metrics& metrics)
      : opt_(std::move(options)),
        bases_(std::move(bases)),
        names_(Labels(bases_)),
        balancer_(names_, BalancerOptions{opt_.failure_threshold, opt_.open_duration, 8}),
        client_(http::ClientOptions{opt_.connect_timeout, opt_.verify_tls, opt_.ca_file}),
        metrics_(metrics) {
    health_thread_ = std::thread([this] {
      auto guard = net::make_work_guard(health_io_);
      health_io_.run();
    });
  }

  ~UpstreamEngine() override { Stop(); }

  // Fills in the model name and flavor from GET /models when not configured.
  Status Discover(milliseconds timeout) {
    std::optional<Flavor> flavor;
    if (opt_.flavor != "auto") {
      auto f = ParseFlavor(opt_.flavor);
      if (!f.ok()) return f.status().WithContext("upstream.flavor");
      flavor = *f;
    }
    std::string model = opt_.model;
    auto deadline = Clock::now() + timeout;
    Status last;
    while (model.empty() || !flavor) {
      for (const auto& base : bases_) {
        auto listed = RunOn(health_io_, ListModels(base));
        if (!listed.ok()) {
          last = listed.status();
          continue;
        }
        if (model.empty()) model = listed->first;
        if (!flavor) flavor = DetectFlavor(listed->second, base.host);
        break;
      }
      // With the model name configured, lingxi can serve without asking: a replica that is
      // down at start-up must not keep the others from serving.
      if (!model.empty() && !flavor) flavor = DetectFlavor("", bases_.front().host);
      if (!model.empty()) break;
      if (Clock::now() >= deadline || stopped_)
        return Status::Unavailable("cannot ask the upstream for its model (set upstream.model to skip this): " +
                                   last.message());
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    wire_ = WireOptions{model, *flavor, opt_.extra_body, opt_.thinking};
    info_.id = opt_.id.empty() ? model : opt_.id;
    info_.aliases = opt_.aliases;
    info_.fallback = opt_.fallback;
    info_.owned_by = "upstream";
    info_.created = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    info_.parallel = 0;
    info_.embeddings = true;
    retries_ = &metrics_.Retries(info_.id);
    for (const auto& b : bases_) replica_metrics_.push_back(metrics_.ForReplica(info_.id, b.ToString()));
    if (opt_.health_interval.count() > 0)
      net::co_spawn(health_io_, HealthLoop(shared_from_this()), net::detached);
    LogInfo("upstream ready", {{"model", info_.id}, {"upstream_model", model}, {"flavor", FlavorName(*flavor)},
                               {"replicas", std::to_string(bases_.size()), true}});
    return Status::Ok();
  }

  EngineInfo info() const override { return info_; }

  Result<std::shared_ptr<ChunkStream>> Submit(ChatRequest request, net::any_io_executor ex) override {
    if (stopped_) return Status::Unavailable("the server is shutting down");
    // All replicas down: say so now, so the pipeline can go to a fallback model at once.
    if (!balancer_.AnyAvailable(Clock::now()))
      return Status::Unavailable(fmt::format("every replica of {} is down or its circuit is open", info_.id));
    auto out = std::make_shared<ChunkStream>(ex);
    net::co_spawn(ex, Run(shared_from_this(), std::move(request), out), net::detached);
    return out;
  }

  Result<std::shared_ptr<EmbeddingResult>> Embed(std::vector<std::string> inputs, net::any_io_executor ex) override {
    if (stopped_) return Status::Unavailable("the server is shutting down");
    auto out = std::make_shared<EmbeddingResult>(ex);
    net::co_spawn(ex, RunEmbed(shared_from_this(), std::move(inputs), out), net::detached);
    return out;
  }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    health_io_.stop();
    if (health_thread_.joinable()) health_thread_.join();
    client_.Close();
  }

 private:
  static std::vector<std::string> Labels(const std::vector<http::Url>& bases) {
    std::vector<std::string> out;
    for (const auto& b : bases) out.push_back(b.ToString());
    return out;
  }

  // A request to `base` + `path` with the upstream's key. `header_timeout` 0 = the configured one.
  http::ClientRequest MakeRequest(const http::Url& base, std::string method, std::string_view path, std::string body,
                                  milliseconds header_timeout = milliseconds(0)) const {
    http::ClientRequest req;
    req.method = std::move(method);
    req.url = base;
    req.url.path += path;
    req.header_timeout = header_timeout.count() > 0 ? header_timeout : opt_.header_timeout;
    if (!body.empty()) req.headers.Set("Content-Type", "application/json");
    if (!opt_.api_key.empty()) req.headers.Set("Authorization", "Bearer " + opt_.api_key);
    req.body = std::move(body);
    return req;
  }

  // (first model id, its owned_by) from GET {base}/models.
  net::awaitable<Result<std::pair<std::string, std::string>>> ListModels(http::Url base) {
    auto res = co_await client_.Send(MakeRequest(base, "GET", "/models", "", std::min(opt_.header_timeout, milliseconds(5000))));
    if (!res.ok()) co_return res.status();
    auto body = co_await (*res)->ReadAll(opt_.idle_timeout, kMaxErrorBytes);
    if (!body.ok()) co_return body.status();
    if ((*res)->status() != 200) co_return UpstreamError((*res)->status(), *body, base.ToString());
    auto j = nlohmann::json::parse(*body, nullptr, false);
    if (j.is_discarded() || !j.contains("data") || !j["data"].is_array() || j["data"].empty() ||
        !j["data"][0].contains("id") || !j["data"][0]["id"].is_string())
      co_return Status::BadGateway(base.ToString() + "/models: no model listed");
    const auto& first = j["data"][0];
    co_return std::pair{first["id"].get<std::string>(),
                        first.contains("owned_by") && first["owned_by"].is_string() ? first["owned_by"].get<std::string>() : ""};
  }

  net::awaitable<void> HealthLoop([[maybe_unused]] std::shared_ptr<UpstreamEngine> self) {
    net::steady_timer timer(co_await net::this_coro::executor);
    for (;;) {
      for (int i = 0; i < static_cast<int>(bases_.size()); ++i) {
        bool ok = co_await Probe(i);
        if (balancer_.SetHealthy(i, ok)) {
          replica_metrics_[i].healthy.Set(ok ? 1 : 0);
          if (ok) LogInfo("upstream replica healthy again", {{"model", info_.id}, {"upstream", bases_[i].ToString()}});
          else LogWarn("upstream replica failed its health check", {{"model", info_.id}, {"upstream", bases_[i].ToString()}});
        }
      }
      timer.expires_after(opt_.health_interval);
      auto [ec] = co_await timer.async_wait(net::as_tuple(net::use_awaitable));
      if (ec || stopped_) co_return;
    }
  }

  net::awaitable<bool> Probe(int replica) {
    http::Url base = bases_[replica];
    std::string path = opt_.health_path;
    if (path.empty()) path = wire_.flavor == Flavor::kOpenAI || wire_.flavor == Flavor::kMoonshot ? "/models" : "/health";
    // "/health" of vLLM, SGLang and llama-server is at the server's root, not under /v1.
    if (path == "/health") base.path.clear();
    auto res = co_await client_.Send(MakeRequest(base, "GET", path, "", std::min(opt_.header_timeout, milliseconds(2000))));
    if (!res.ok()) co_return false;
    auto body = co_await (*res)->ReadAll(milliseconds(2000), kMaxErrorBytes);
    co_return body.ok() && (*res)->status() == 200;
  }

  static uint64_t AffinityKey(const ChatRequest& r) {
    std::string key = r.session;
    if (key.empty()) {
      // The start of a conversation stays the same on every turn.
      if (r.prompt) key = r.prompt->substr(0, 256);
      for (size_t i = 0; i < r.messages.size() && i < 2; ++i) key += r.messages[i].role + '\0' + r.messages[i].Text() + '\0';
    }
    uint64_t h = std::hash<std::string>{}(key);
    return h == 0 ? 1 : h;
  }

  // Replaces remote image URLs by their bytes, for upstreams that only take data: URLs.
  net::awaitable<Status> InlineImages(ChatRequest& request) {
    for (auto& m : request.messages)
      for (auto& p : m.parts) {
        if (p.kind != ContentPart::Kind::kImage || !p.data.empty() || p.text.rfind("http", 0) != 0) continue;
        auto url = http::Url::Parse(p.text);
        if (!url.ok()) co_return Status::InvalidArgument("image_url: " + url.status().message());
        http::ClientRequest req;
        req.url = *url;
        req.header_timeout = opt_.header_timeout;
        auto res = co_await client_.Send(std::move(req));
        if (!res.ok()) co_return Status::InvalidArgument("image_url " + p.text + ": " + res.status().message());
        auto body = co_await (*res)->ReadAll(opt_.idle_timeout, kMaxImageBytes);
        if (!body.ok()) co_return Status::InvalidArgument("image_url " + p.text + ": " + body.status().message());
        if ((*res)->status() != 200)
          co_return Status::InvalidArgument(fmt::format("image_url {}: answered {}", p.text, (*res)->status()));
        p.data = std::move(*body);
        p.mime = std::string((*res)->headers().Get("Content-Type"));
      }
    co_return Status::Ok();
  }

  net::awaitable<void> Run([[maybe_unused]] std::shared_ptr<UpstreamEngine> self, ChatRequest request, std::shared_ptr<ChunkStream> out) {
    auto ex = co_await net::this_coro::executor;
    auto state = std::make_shared<CallState>();
    state->executor = ex;
    out->OnCancel([state] {  // a shared_ptr alone fits std::function's inline storage
      net::post(state->executor, [state] {
        if (state->response) state->response->Abort();
        if (state->backoff) state->backoff->cancel();
      });
    });
    auto finish_error = [&](Status s) {
      ChatChunk c;
      c.finish = out->cancelled() ? FinishReason::kCancelled : FinishReason::kError;
      if (!out->cancelled()) c.error = std::move(s);
      out->Push(std::move(c));
      out->Close();
    };
    if (opt_.inline_images || wire_.flavor == Flavor::kMoonshot) {
      if (Status s = co_await InlineImages(request); !s.ok()) co_return finish_error(std::move(s));
    }
    const std::string_view path = request.prompt ? "/completions" : "/chat/completions";
    const std::string body = RenderRequestBody(request, wire_, request.stream);
    const uint64_t key = opt_.affinity ? AffinityKey(request) : 0;
    boost::container::small_vector<int, 4> tried;
    Status last;
    thread_local std::minstd_rand rng(std::random_device{}());
    for (int attempt = 0; attempt <= opt_.retries; ++attempt) {
      if (out->cancelled()) break;
      auto started = Clock::now();
      int r = balancer_.Acquire(key, tried, started);
      if (r < 0) {
        if (last.ok()) last = Status::Unavailable(fmt::format("every replica of {} is down or its circuit is open", info_.id));
        break;
      }
      tried.push_back(r);
      if (attempt > 0) retries_->Increment();
      Attempt a = co_await Send(r, path, body, request.stream, started, *out, *state);
      auto& rm = replica_metrics_[r];
      auto ended = Clock::now();
      rm.duration.Observe(Seconds(ended - started));
      if (out->cancelled()) a.outcome = Balancer::Outcome::kNeutral;
      if (balancer_.Release(r, a.outcome, ended)) {
        bool open = balancer_.State(r).circuit == Circuit::kOpen;
        rm.circuit_open.Set(open ? 1 : 0);
        if (open) LogWarn("upstream circuit opened", {{"model", info_.id}, {"upstream", bases_[r].ToString()}, {"error", a.status.message()}});
        else LogInfo("upstream circuit closed", {{"model", info_.id}, {"upstream", bases_[r].ToString()}});
      }
      if (a.status.ok()) {
        rm.ok.Increment();
        co_return;
      }
      (out->cancelled() ? rm.cancelled : rm.failed).Increment();
      last = a.status;
      if (a.emitted || !Retryable(last) || out->cancelled()) break;
      if (attempt == opt_.retries) break;
      LogWarn("upstream attempt failed; retrying", {{"model", info_.id}, {"upstream", bases_[r].ToString()},
                                                   {"error", last.message()}, {"request_id", request.request_id}});
      // Full jitter: uniform in [0, base * 2^attempt].
      auto cap = opt_.retry_backoff.count() << std::min(attempt, 10);
      net::steady_timer timer(ex);
      timer.expires_after(milliseconds(std::uniform_int_distribution<int64_t>(0, cap)(rng)));
      state->backoff = &timer;
      co_await timer.async_wait(net::as_tuple(net::use_awaitable));
      state->backoff = nullptr;
    }
    finish_error(last);
  }

  // One try on one replica. Pushes the answer to `out`; on failure pushes nothing final.
  net::awaitable<Attempt> Send(int replica, std::string_view path, const std::string& body, bool stream,
                               Clock::time_point sent_at, ChunkStream& out, CallState& state) {
    auto& rm = replica_metrics_[replica];
    auto req = MakeRequest(bases_[replica], "POST", path, body);
    req.headers.Set("Accept", stream ? "text/event-stream" : "application/json");
    auto sent = co_await client_.Send(std::move(req));
    if (!sent.ok()) {
      rm.Error(ErrorKind(sent.status(), false));
      co_return Attempt{sent.status(), false, Balancer::Outcome::kFailure};
    }
    std::unique_ptr<http::ClientResponse> res = std::move(*sent);
    state.response = res.get();
    struct Clear {
      CallState& s;
      ~Clear() { s.response = nullptr; }
    } clear{state};
    const std::string& upstream = names_[replica];

    if (res->status() != 200) {
      auto text = co_await res->ReadAll(opt_.idle_timeout, kMaxErrorBytes);
      Status s = UpstreamError(res->status(), text.ok() ? *text : text.status().message(), upstream);
      rm.Error(res->status() >= 500 ? "status_5xx" : "status_4xx");
      co_return Attempt{s, false, Retryable(s) ? Balancer::Outcome::kFailure : Balancer::Outcome::kNeutral};
    }

    ChatChunk last;
    last.served_by = upstream;
    if (!stream) {
      auto text = co_await res->ReadAll(opt_.idle_timeout, kMaxAnswerBytes);
      if (!text.ok()) {
        rm.Error(ErrorKind(text.status(), true));
        co_return Attempt{text.status(), false, Balancer::Outcome::kFailure};
      }
      auto ev = ParseCompletionBody(*text);
      if (!ev.ok()) {
        rm.Error("protocol");
        co_return Attempt{ev.status(), false, Balancer::Outcome::kFailure};
      }
      ChatChunk c;
      c.delta = std::move(ev->delta);
      c.reasoning = std::move(ev->reasoning);
      c.tool_calls = std::move(ev->tool_calls);
      if (!c.delta.empty() || !c.reasoning.empty() || !c.tool_calls.empty()) out.Push(std::move(c));
      last.finish = ev->finish.value_or(FinishReason::kStop);
      if (ev->usage) last.usage = *ev->usage;
      last.timings.generation_ms = Seconds(Clock::now() - sent_at) * 1000;
      Finish(rm, out, std::move(last));
      co_return Attempt{};
    }

    SseParser sse;
    bool emitted = false, done = false;
    std::optional<Clock::time_point> first;
    for (;;) {
      if (out.cancelled()) co_return Attempt{Status::Unavailable("cancelled"), emitted, Balancer::Outcome::kNeutral};
      auto piece = co_await res->Read(opt_.idle_timeout);
      if (!piece.ok()) {
        if (out.cancelled()) co_return Attempt{Status::Unavailable("cancelled"), emitted, Balancer::Outcome::kNeutral};
        rm.Error(ErrorKind(piece.status(), true));
        co_return Attempt{piece.status().WithContext("upstream " + upstream), emitted, Balancer::Outcome::kFailure};
      }
      if (!*piece) break;
      sse.Feed(**piece);
      while (auto data = sse.Next()) {
        auto ev = ParseStreamEvent(*data);
        if (!ev.ok()) {
          rm.Error("protocol");
          co_return Attempt{ev.status(), emitted, Balancer::Outcome::kFailure};
        }
        if (ev->done) done = true;
        if (ev->finish) last.finish = ev->finish;
        if (ev->usage) last.usage = *ev->usage;
        if (ev->delta.empty() && ev->reasoning.empty() && ev->tool_calls.empty()) continue;
        if (!first) {
          first = Clock::now();
          rm.ttft.Observe(Seconds(*first - sent_at));
        }
        ChatChunk c;
        c.delta = std::move(ev->delta);
        c.reasoning = std::move(ev->reasoning);
        c.tool_calls = std::move(ev->tool_calls);
        out.Push(std::move(c));
        emitted = true;
      }
    }
    if (!done && !last.finish) {
      rm.Error("cut");
      co_return Attempt{Status::Unavailable("upstream " + upstream + " ended the stream before it finished"), emitted,
                        Balancer::Outcome::kFailure};
    }
    if (!last.finish) last.finish = FinishReason::kStop;
    auto end = Clock::now();
    last.timings.prompt_ms = Seconds((first ? *first : end) - sent_at) * 1000;
    last.timings.generation_ms = first ? Seconds(end - *first) * 1000 : 0;
    Finish(rm, out, std::move(last));
    co_return Attempt{};
  }

  void Finish(ReplicaMetrics& rm, ChunkStream& out, ChatChunk last) {
    rm.prompt_tokens.Increment(last.usage.prompt_tokens);
    rm.cached_tokens.Increment(last.usage.cached_prompt_tokens);
    rm.completion_tokens.Increment(last.usage.completion_tokens);
    out.Push(std::move(last));
    out.Close();
  }

  net::awaitable<void> RunEmbed([[maybe_unused]] std::shared_ptr<UpstreamEngine> self, std::vector<std::string> inputs,
                                std::shared_ptr<EmbeddingResult> out) {
    nlohmann::json body = {{"model", wire_.model}, {"input", inputs}, {"encoding_format", "float"}};
    Status last;
    boost::container::small_vector<int, 4> tried;
    for (int attempt = 0; attempt <= opt_.retries; ++attempt) {
      int r = balancer_.Acquire(0, tried, Clock::now());
      if (r < 0) break;
      tried.push_back(r);
      auto res = co_await client_.Send(MakeRequest(bases_[r], "POST", "/embeddings", body.dump()));
      Result<std::string> text = Status::Unavailable("");  // no co_await inside ?: (GCC 12 miscompiles it)
      if (res.ok()) text = co_await (*res)->ReadAll(opt_.idle_timeout, kMaxAnswerBytes);
      else text = res.status();
      Status s = !text.ok() ? text.status()
                 : (*res)->status() != 200 ? UpstreamError((*res)->status(), *text, bases_[r].ToString())
                                           : Status::Ok();
      balancer_.Release(r, s.ok() ? Balancer::Outcome::kSuccess : Retryable(s) ? Balancer::Outcome::kFailure : Balancer::Outcome::kNeutral,
                        Clock::now());
      if (s.ok()) {
        auto j = nlohmann::json::parse(*text, nullptr, false);
        Embedding e;
        if (!j.is_discarded() && j.contains("data") && j["data"].is_array()) {
          for (const auto& d : j["data"])
            if (d.contains("embedding") && d["embedding"].is_array()) e.vectors.push_back(d["embedding"].get<std::vector<float>>());
          if (j.contains("usage") && j["usage"].is_object()) e.prompt_tokens = j["usage"].value("prompt_tokens", 0);
        }
        if (e.vectors.size() != inputs.size()) {
          last = Status::BadGateway("upstream " + bases_[r].ToString() + " returned a malformed embeddings answer");
          break;
        }
        out->Push(std::move(e));
        out->Close();
        co_return;
      }
      last = s;
      if (!Retryable(s)) break;
    }
    if (last.ok()) last = Status::Unavailable(fmt::format("every replica of {} is down or its circuit is open", info_.id));
    out->Push(last);
    out->Close();
  }

  UpstreamOptions opt_;
  std::vector<http::Url> bases_;
  std::vector<std::string> names_;  // bases_ as text: metric labels, logs, served_by
  Balancer balancer_;
  net::io_context health_io_;  // health checks and discovery; declared before client_
  http::HttpClient client_;
  UpstreamMetrics metrics_;
  std::vector<ReplicaMetrics> replica_metrics_;  // one per replica, fixed after Discover
  prometheus::Counter* retries_ = nullptr;
  WireOptions wire_;
  EngineInfo info_;
  std::thread health_thread_;
  std::atomic<bool> stopped_{false};
};

}  // namespace

Result<std::shared_ptr<Engine>> CreateUpstreamEngine(const UpstreamOptions& options, metrics::Metrics& metrics,
                                                     std::chrono::milliseconds discovery_timeout) {
  if (options.urls.empty()) return Status::InvalidArgument("upstream.urls: at least one base URL is needed");
  std::vector<http::Url> bases;
  for (const auto& u : options.urls) {
    auto url = http::Url::Parse(u);
    if (!url.ok()) return url.status().WithContext("upstream.urls");
    bases.push_back(std::move(*url));
  }
  if (!options.extra_body.empty()) {
    auto j = nlohmann::json::parse(options.extra_body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("upstream.extra_body: expected a JSON object");
  }
  auto engine = std::make_shared<UpstreamEngine>(options, std::move(bases), metrics);
  if (Status s = engine->Discover(discovery_timeout); !s.ok()) return s;
  return std::shared_ptr<Engine>(std::move(engine));
}

}  // namespace lingxi::engine::upstream
