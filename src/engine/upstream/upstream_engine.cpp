#include "engine/upstream/upstream_engine.h"

#include <boost/asio.hpp>
#include <boost/container/small_vector.hpp>

#include <nlohmann/json.hpp>

#include <future>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "core/log.h"
#include "engine/inline_fifo.h"
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

class UpstreamCall;

class UpstreamEngine : public Engine, public std::enable_shared_from_this<UpstreamEngine> {
  friend class UpstreamCall;

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
    for (const auto& name : names_) replica_metrics_.push_back(metrics_.ForReplica(info_.id, name));
    if (opt_.health_interval.count() > 0)
      net::co_spawn(health_io_, HealthLoop(shared_from_this()), net::detached);
    LogInfo("upstream ready", {{"model", info_.id}, {"upstream_model", model}, {"flavor", FlavorName(*flavor)},
                               {"replicas", std::to_string(bases_.size()), true}});
    return Status::Ok();
  }

  EngineInfo info() const override { return info_; }

  // The call runs in the consumer's Next(), on its executor.
  Result<std::shared_ptr<ChunkStream>> Submit(ChatRequest request, net::any_io_executor) override;

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
          if (ok) LogInfo("upstream replica healthy again", {{"model", info_.id}, {"upstream", names_[i]}});
          else LogWarn("upstream replica failed its health check", {{"model", info_.id}, {"upstream", names_[i]}});
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
                 : (*res)->status() != 200 ? UpstreamError((*res)->status(), *text, names_[r])
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
          last = Status::BadGateway("upstream " + names_[r] + " returned a malformed embeddings answer");
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

// One chat request to the upstream pool, as the stream its consumer pulls. The consumer's
// own coroutine drives the exchange from Next(): an upstream call runs on the consumer's I/O
// thread anyway, so it needs neither a coroutine of its own nor a cross-thread queue. A try
// that fails before anything was queued for the consumer is retried on another replica with
// a jittered backoff; a non-streamed answer is queued whole, a streamed one event by event as
// each read brings them.
class UpstreamCall final : public ChunkStream {
 public:
  UpstreamCall(std::shared_ptr<UpstreamEngine> engine, ChatRequest&& request)
      : e_(std::move(engine)), request_(std::move(request)) {}

  ~UpstreamCall() override {
    if (replica_ >= 0) {  // dropped mid-answer: the replica is free again
      cancelled_ = true;
      EndTry(Status::Unavailable("cancelled"), Balancer::Outcome::kNeutral);
    }
  }

  http::Task<std::optional<ChatChunk>> Next() override {
    for (;;) {
      if (auto c = TryNext()) co_return c;
      if (finished_) co_return std::nullopt;
      co_await Step();
    }
  }

  std::optional<ChatChunk> TryNext() override { return queue_.TryPop(); }

  void Cancel() override {
    cancelled_ = true;
    if (response_) response_->Abort();  // a pending read ends at once
    if (backoff_) backoff_->cancel();
  }

 private:
  // Advances the call until it queued a chunk or finished.
  net::awaitable<void> Step() {
    if (!prepared_) {
      prepared_ = true;
      if (e_->opt_.inline_images || e_->wire_.flavor == Flavor::kMoonshot) {
        if (Status s = co_await e_->InlineImages(request_); !s.ok()) co_return FinishError(std::move(s));
      }
      path_ = request_.prompt ? "/completions" : "/chat/completions";
      body_ = RenderRequestBody(request_, e_->wire_, request_.stream);
      key_ = e_->opt_.affinity ? UpstreamEngine::AffinityKey(request_) : 0;
    }
    if (response_) co_return co_await ReadStream();
    co_await StartTry();
  }

  // Picks a replica and sends; retries what may be retried. Returns with the answer queued
  // (not streamed), the stream's headers in (`response_`), or the call finished with an error.
  net::awaitable<void> StartTry() {
    thread_local std::minstd_rand rng(std::random_device{}());
    for (;;) {
      if (cancelled_) co_return FinishError(Status::Unavailable("cancelled"));
      if (tries_ > 0) {
        if (!Retryable(last_) || tries_ > e_->opt_.retries) co_return FinishError(last_);
        LogWarn("upstream attempt failed; retrying", {{"model", e_->info_.id}, {"upstream", e_->names_[tried_.back()]},
                                                     {"error", last_.message()}, {"request_id", request_.request_id}});
        // Full jitter: uniform in [0, base * 2^(tries - 1)].
        auto cap = e_->opt_.retry_backoff.count() << std::min(tries_ - 1, 10);
        net::steady_timer timer(co_await net::this_coro::executor);
        timer.expires_after(milliseconds(std::uniform_int_distribution<int64_t>(0, cap)(rng)));
        backoff_ = &timer;
        co_await timer.async_wait(net::as_tuple(net::use_awaitable));
        backoff_ = nullptr;
        if (cancelled_) co_return FinishError(Status::Unavailable("cancelled"));
        e_->retries_->Increment();
      }
      started_ = Clock::now();
      int r = e_->balancer_.Acquire(key_, tried_, started_);
      if (r < 0) {
        if (last_.ok()) last_ = Status::Unavailable(fmt::format("every replica of {} is down or its circuit is open", e_->info_.id));
        co_return FinishError(last_);
      }
      tried_.push_back(r);
      replica_ = r;
      ++tries_;
      if (co_await SendTry()) co_return;  // answered, or streaming
    }
  }

  // One try on replica_: true when it answered (queued whole) or its stream began; false when
  // it failed (last_, the try ended) and another may be made.
  net::awaitable<bool> SendTry() {
    auto& rm = e_->replica_metrics_[replica_];
    auto req = e_->MakeRequest(e_->bases_[replica_], "POST", path_, body_);
    req.headers.Set("Accept", request_.stream ? "text/event-stream" : "application/json");
    auto sent = co_await e_->client_.Send(std::move(req));
    if (!sent.ok()) {
      rm.Error(ErrorKind(sent.status(), false));
      co_return Failed(sent.status(), Balancer::Outcome::kFailure);
    }
    response_ = std::move(*sent);
    const std::string& upstream = e_->names_[replica_];
    if (response_->status() != 200) {
      auto text = co_await response_->ReadAll(e_->opt_.idle_timeout, kMaxErrorBytes);
      Status s = UpstreamError(response_->status(), text.ok() ? *text : text.status().message(), upstream);
      rm.Error(response_->status() >= 500 ? "status_5xx" : "status_4xx");
      co_return Failed(s, Retryable(s) ? Balancer::Outcome::kFailure : Balancer::Outcome::kNeutral);
    }
    last_chunk_ = ChatChunk();
    last_chunk_.served_by = upstream;
    if (request_.stream) {
      sse_ = SseParser();
      done_ = false;
      first_.reset();
      co_return true;
    }
    auto text = co_await response_->ReadAll(e_->opt_.idle_timeout, kMaxAnswerBytes);
    if (!text.ok()) {
      rm.Error(ErrorKind(text.status(), true));
      co_return Failed(text.status(), Balancer::Outcome::kFailure);
    }
    auto ev = ParseCompletionBody(*text);
    if (!ev.ok()) {
      rm.Error("protocol");
      co_return Failed(ev.status(), Balancer::Outcome::kFailure);
    }
    ChatChunk c;
    c.delta = std::move(ev->delta);
    c.reasoning = std::move(ev->reasoning);
    c.tool_calls = std::move(ev->tool_calls);
    if (!c.delta.empty() || !c.reasoning.empty() || !c.tool_calls.empty()) Queue(std::move(c));
    last_chunk_.finish = ev->finish.value_or(FinishReason::kStop);
    if (ev->usage) last_chunk_.usage = *ev->usage;
    last_chunk_.timings.generation_ms = Seconds(Clock::now() - started_) * 1000;
    FinishOk();
    co_return true;
  }

  // Reads the stream once and queues the events it brought.
  net::awaitable<void> ReadStream() {
    auto& rm = e_->replica_metrics_[replica_];
    const std::string& upstream = e_->names_[replica_];
    if (cancelled_) co_return Cut(Status::Unavailable("cancelled"));
    auto piece = co_await response_->Read(e_->opt_.idle_timeout);
    if (cancelled_) co_return Cut(Status::Unavailable("cancelled"));
    if (!piece.ok()) {
      rm.Error(ErrorKind(piece.status(), true));
      co_return Cut(piece.status().WithContext("upstream " + upstream));
    }
    if (!*piece) {
      if (!done_ && !last_chunk_.finish) {
        rm.Error("cut");
        co_return Cut(Status::Unavailable("upstream " + upstream + " ended the stream before it finished"));
      }
      if (!last_chunk_.finish) last_chunk_.finish = FinishReason::kStop;
      auto end = Clock::now();
      last_chunk_.timings.prompt_ms = Seconds((first_ ? *first_ : end) - started_) * 1000;
      last_chunk_.timings.generation_ms = first_ ? Seconds(end - *first_) * 1000 : 0;
      co_return FinishOk();
    }
    sse_.Feed(**piece);
    while (auto data = sse_.Next()) {
      auto ev = ParseStreamEvent(*data);
      if (!ev.ok()) {
        rm.Error("protocol");
        co_return Cut(ev.status());
      }
      if (ev->done) done_ = true;
      if (ev->finish) last_chunk_.finish = ev->finish;
      if (ev->usage) last_chunk_.usage = *ev->usage;
      if (ev->delta.empty() && ev->reasoning.empty() && ev->tool_calls.empty()) continue;
      if (!first_) {
        first_ = Clock::now();
        rm.ttft.Observe(Seconds(*first_ - started_));
      }
      ChatChunk c;
      c.delta = std::move(ev->delta);
      c.reasoning = std::move(ev->reasoning);
      c.tool_calls = std::move(ev->tool_calls);
      Queue(std::move(c));
    }
  }

  // A streamed try failed: retried when nothing reached the queue yet, else the call ends.
  void Cut(Status s) {
    bool emitted = emitted_;
    Failed(s, cancelled_ ? Balancer::Outcome::kNeutral : Balancer::Outcome::kFailure);
    if (emitted || cancelled_) FinishError(last_);
  }

  // The try on replica_ failed with `s`: it ends; StartTry decides about another.
  bool Failed(Status s, Balancer::Outcome outcome) {
    last_ = std::move(s);
    EndTry(last_, outcome);
    return false;
  }

  // Books the end of the try on replica_: its duration, outcome and circuit.
  void EndTry(const Status& s, Balancer::Outcome outcome) {
    auto& rm = e_->replica_metrics_[replica_];
    auto ended = Clock::now();
    rm.duration.Observe(Seconds(ended - started_));
    if (cancelled_) outcome = Balancer::Outcome::kNeutral;
    if (e_->balancer_.Release(replica_, outcome, ended)) {
      bool open = e_->balancer_.State(replica_).circuit == Circuit::kOpen;
      rm.circuit_open.Set(open ? 1 : 0);
      if (open) LogWarn("upstream circuit opened", {{"model", e_->info_.id}, {"upstream", e_->names_[replica_]}, {"error", s.message()}});
      else LogInfo("upstream circuit closed", {{"model", e_->info_.id}, {"upstream", e_->names_[replica_]}});
    }
    if (s.ok()) rm.ok.Increment();
    else (cancelled_ ? rm.cancelled : rm.failed).Increment();
    replica_ = -1;
    response_.reset();  // a connection in the middle of an answer is closed, not pooled
  }

  void Queue(ChatChunk&& c) {
    queue_.Push(std::move(c));
    emitted_ = true;
  }

  void FinishOk() {
    auto& rm = e_->replica_metrics_[replica_];
    rm.prompt_tokens.Increment(last_chunk_.usage.prompt_tokens);
    rm.cached_tokens.Increment(last_chunk_.usage.cached_prompt_tokens);
    rm.completion_tokens.Increment(last_chunk_.usage.completion_tokens);
    EndTry(Status::Ok(), Balancer::Outcome::kSuccess);
    queue_.Push(std::move(last_chunk_));
    finished_ = true;
  }

  void FinishError(Status s) {
    ChatChunk c;
    c.finish = cancelled_ ? FinishReason::kCancelled : FinishReason::kError;
    if (!cancelled_) c.error = std::move(s);
    queue_.Push(std::move(c));
    finished_ = true;
  }

  std::shared_ptr<UpstreamEngine> e_;
  ChatRequest request_;
  bool prepared_ = false;
  std::string_view path_;
  std::string body_;
  uint64_t key_ = 0;
  bool cancelled_ = false;
  bool finished_ = false;    // the final chunk is queued
  bool emitted_ = false;     // something was queued: no other replica may answer any more
  // Tries so far and where; the last failure.
  int tries_ = 0;
  boost::container::small_vector<int, 4> tried_;
  Status last_;
  net::steady_timer* backoff_ = nullptr;  // while waiting between tries
  // The current try: its replica (-1: none), start, response, and for a stream its state.
  int replica_ = -1;
  Clock::time_point started_;
  std::unique_ptr<http::ClientResponse> response_;
  SseParser sse_;
  bool done_ = false;  // "[DONE]" seen
  std::optional<Clock::time_point> first_;
  ChatChunk last_chunk_;  // the final chunk being made: finish, usage, timings, served_by
  InlineFifo<ChatChunk, 2> queue_;  // chunks for the consumer
};

Result<std::shared_ptr<ChunkStream>> UpstreamEngine::Submit(ChatRequest request, net::any_io_executor) {
  if (stopped_) return Status::Unavailable("the server is shutting down");
  // All replicas down: say so now, so the pipeline can go to a fallback model at once.
  if (!balancer_.AnyAvailable(Clock::now()))
    return Status::Unavailable(fmt::format("every replica of {} is down or its circuit is open", info_.id));
  return std::shared_ptr<ChunkStream>(std::make_shared<UpstreamCall>(shared_from_this(), std::move(request)));
}

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
