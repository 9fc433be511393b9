// POST /v1/chat/completions, /v1/completions and /predict: parse, run through the pipeline,
// answer whole or as an SSE stream.
#include <boost/asio/this_coro.hpp>

#include <chrono>

#include "api/errors.h"
#include "api/json_response.h"
#include "core/json_writer.h"
#include "api/openai_request.h"
#include "api/openai_response.h"
#include "api/routes.h"

namespace lingxi::api {
namespace {

using nlohmann::json;

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Pulls the answer's chunks and writes OpenAI SSE events. Dropping it (client gone) cancels
// the request in the engine, which frees its sequence slot or upstream connection at once.
class SseStream : public http::BodyStream {
 public:
  SseStream(std::shared_ptr<pipeline::Answer> in, ResponseMeta meta, bool include_usage)
      : in_(std::move(in)), meta_(std::move(meta)), include_usage_(include_usage) {}
  ~SseStream() override { in_->Cancel(); }

  http::Task<std::optional<std::string>> Next() override {
    if (done_) co_return std::nullopt;
    if (!opened_ && meta_.endpoint == Endpoint::kChat) {
      opened_ = true;
      co_return ChunkEvent(meta_, nullptr, nullptr, /*role_only=*/true);
    }
    auto chunk = co_await in_->Next();
    if (!chunk) {  // the engine closed without a final chunk: should not happen
      done_ = true;
      co_return "data: [DONE]\n\n";
    }
    std::string out;
    if (!chunk->delta.empty() || !chunk->reasoning.empty() || !chunk->tool_calls.empty())
      out += ChunkEvent(meta_, &*chunk, nullptr, false);
    if (chunk->finish) {
      done_ = true;
      if (!chunk->error.ok()) {
        out += SseEvent(ErrorJson(chunk->error));
      } else {
        out += ChunkEvent(meta_, nullptr, engine::FinishReasonName(*chunk->finish), false);
        if (include_usage_) out += UsageEvent(meta_, *chunk);
      }
      out += "data: [DONE]\n\n";
    }
    co_return out;
  }

 private:
  std::shared_ptr<pipeline::Answer> in_;
  ResponseMeta meta_;
  bool include_usage_;
  bool opened_ = false;
  bool done_ = false;
};

// Gathers a whole answer. Tool calls of a non-streamed answer come in one piece.
http::Task<Collected> Collect(pipeline::Answer& in) {
  Collected out;
  for (;;) {
    auto c = in.TryNext();  // a short answer is all there: no suspension per chunk
    if (!c) c = co_await in.Next();
    if (!c) break;
    if (out.text.empty()) out.text = std::move(c->delta);  // a whole answer comes in one piece
    else out.text += c->delta;
    out.reasoning += c->reasoning;
    if (!c->tool_calls.empty()) out.tool_calls = c->tool_calls;
    if (c->finish) {  // the final chunk is the last
      out.last = std::move(*c);
      break;
    }
  }
  co_return out;
}

enum class Shape { kChat, kCompletion, kPredict };

http::Handler GenerationHandler(ApiContext& ctx, Shape shape) {
  return [&ctx, shape](http::Request& req) -> http::Task<http::Response> {
    auto parsed = shape == Shape::kChat         ? ParseChatCompletion(req.body)
                  : shape == Shape::kCompletion ? ParseCompletion(req.body)
                                                : ParsePredict(req.body);
    if (!parsed.ok()) co_return ErrorResponse(parsed.status());
    parsed->request.request_id = req.request_id;
    parsed->request.api_key = req.principal;
    if (auto session = req.headers.Get("X-Session-Id"); !session.empty()) parsed->request.session = session;
    bool stream = parsed->request.stream && shape != Shape::kPredict;
    auto answer = co_await ctx.pipeline->Generate(std::move(parsed->request), co_await boost::asio::this_coro::executor);
    if (!answer.ok()) co_return ErrorResponse(answer.status());
    // A client that hangs up stops the generation (and frees its sequence) at the next step.
    req.client_gone->OnGone([a = *answer] { a->Cancel(); });
    // Until the first chunk a failing model can still be replaced, or answered with a status.
    if (Status s = co_await (*answer)->Begin(); !s.ok()) co_return ErrorResponse(s);

    ResponseMeta meta{shape == Shape::kCompletion ? Endpoint::kCompletion : Endpoint::kChat,
                      (shape == Shape::kCompletion ? "cmpl-" : "chatcmpl-") + req.request_id, (*answer)->model().id,
                      UnixNow(), parsed->reasoning_field};
    http::Response res;
    if (stream) {
      res.headers.Set("Content-Type", "text/event-stream");
      res.headers.Set("Cache-Control", "no-cache");
      res.stream = std::make_unique<SseStream>(*answer, meta, parsed->include_usage);
    } else {
      auto collected = co_await Collect(**answer);
      const auto& last = collected.last;
      if (!last.error.ok()) co_return ErrorResponse(last.error);
      if (shape == Shape::kPredict) {
        JsonWriter w;
        w.BeginObject()
            .Key("result").String(collected.text)
            .Key("model").String(meta.model)
            .Key("finish_reason").String(engine::FinishReasonName(last.finish.value_or(engine::FinishReason::kStop)))
            .Key("usage");
        WriteUsage(w, last);
        w.EndObject();
        res = http::Response::Json(200, w.Take());
      } else {
        res = http::Response::Json(200, CompletionBody(meta, collected));
      }
    }
    if (!(*answer)->cache_status().empty()) res.headers.Set("X-Cache", (*answer)->cache_status());
    co_return res;
  };
}

}  // namespace

http::Handler ChatCompletionsHandler(ApiContext& ctx) { return GenerationHandler(ctx, Shape::kChat); }
http::Handler CompletionsHandler(ApiContext& ctx) { return GenerationHandler(ctx, Shape::kCompletion); }
http::Handler PredictHandler(ApiContext& ctx) { return GenerationHandler(ctx, Shape::kPredict); }

}  // namespace lingxi::api
