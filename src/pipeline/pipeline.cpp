#include "pipeline/pipeline.h"

#include "core/log.h"

#include <fmt/format.h>

namespace lingxi::pipeline {
namespace {

// Failures of the model, not of the request: another model may do better.
bool ModelFailure(const Status& s) {
  return s.code() == Status::Code::kUnavailable || s.code() == Status::Code::kDeadlineExceeded ||
         s.code() == Status::Code::kBadGateway;
}

}  // namespace

Status Answer::Submit(const std::shared_ptr<engine::Engine>& engine) {
  auto stream = engine->Submit(request_, executor_);
  if (!stream.ok()) return stream.status();
  model_ = engine->info();
  stream_ = std::move(*stream);
  return Status::Ok();
}

http::Task<Status> Answer::Begin() {
  for (;;) {
    first_ = co_await stream_->Next();
    if (!first_) co_return Status::Internal("the engine closed its answer without a final chunk");
    bool failed = first_->finish && !first_->error.ok();
    if (!failed || cancelled_ || !ModelFailure(first_->error)) co_return first_->error;
    if (!pipeline_->FallBack(*this, first_->error)) co_return first_->error;
  }
}

http::Task<std::optional<engine::ChatChunk>> Answer::Next() {
  if (first_) {
    auto c = std::move(first_);
    first_.reset();
    co_return c;
  }
  co_return co_await stream_->Next();
}

void Answer::Cancel() {
  cancelled_ = true;
  if (stream_) stream_->Cancel();
}

Pipeline::Pipeline(engine::ModelRegistry& models, metrics::Metrics& metrics, Limits limits)
    : models_(models),
      limits_(limits),
      fallbacks_(prometheus::BuildCounter()
                     .Name("lingxi_pipeline_fallbacks_total")
                     .Help("Requests answered by a fallback model because their model could not")
                     .Register(metrics.registry())) {}

http::Task<Admission> Pipeline::Admit(const Caller& caller) {
  Admission out;
  if (!limits_.limiter || !limits_.per_ip.enabled()) co_return out;
  auto d = co_await limits_.limiter->Check("ip", "ip:" + caller.ip, limits_.per_ip);
  if (!d.ok()) {
    out.status = d.status();
    co_return out;
  }
  out.limit = *d;
  if (!d->allowed)
    out.status = Status::ResourceExhausted(fmt::format("rate limit of {} per client address exceeded; retry in {} s",
                                                       limits_.per_ip.ToString(), (d->retry_after.count() + 999'999) / 1'000'000));
  co_return out;
}

Result<std::shared_ptr<Answer>> Pipeline::Generate(engine::ChatRequest request, boost::asio::any_io_executor executor) {
  auto engine = models_.Find(request.model);
  if (!engine.ok() && engine.status().code() == Status::Code::kNotFound) return engine.status();
  auto answer = std::shared_ptr<Answer>(new Answer(this, std::move(request), std::move(executor)));
  Status s = engine.ok() ? Status::Ok() : engine.status();
  if (engine.ok()) {
    answer->chain_ = (*engine)->info().fallback;
    s = answer->Submit(*engine);
  }
  if (!s.ok()) {
    if (!ModelFailure(s)) return s;
    if (!FallBack(*answer, s)) return s;
  }
  return answer;
}

bool Pipeline::FallBack(Answer& answer, const Status& why) {
  std::string from = answer.model_.id.empty() ? answer.request_.model : answer.model_.id;
  while (!answer.chain_.empty()) {
    std::string next = answer.chain_.front();
    answer.chain_.erase(answer.chain_.begin());
    auto engine = models_.Find(next);
    if (!engine.ok()) continue;
    if (!answer.Submit(*engine).ok()) continue;
    fallbacks_.Add({{"from", from}, {"to", answer.model_.id}}).Increment();
    LogWarn("model unavailable; answering with its fallback",
            {{"model", from}, {"fallback", answer.model_.id}, {"error", why.message()},
             {"request_id", answer.request_.request_id}});
    return true;
  }
  return false;
}

Result<Pipeline::EmbedStarted> Pipeline::Embed(const std::string& model, std::vector<std::string> inputs,
                                               boost::asio::any_io_executor executor) {
  auto engine = models_.Find(model);
  if (!engine.ok()) return engine.status();
  auto result = (*engine)->Embed(std::move(inputs), std::move(executor));
  if (!result.ok()) return result.status();
  return EmbedStarted{(*engine)->info(), std::move(*result)};
}

}  // namespace lingxi::pipeline
