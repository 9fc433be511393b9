#include "metrics/registry.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <atomic>
#include <chrono>

#include <fmt/format.h>

#include "core/version.h"

namespace lingxi::metrics {
namespace {

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries b = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
  return b;
}

}  // namespace

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  prometheus::BuildGauge()
      .Name("lingxi_build_info")
      .Help("Build of the running lingxi binary; always 1")
      .Register(*registry_)
      .Add({{"version", LINGXI_VERSION}, {"commit", LINGXI_GIT_COMMIT}, {"llama_cpp", LINGXI_LLAMA_CPP_VERSION}})
      .Set(1);
  auto now = std::chrono::system_clock::now().time_since_epoch();
  prometheus::BuildGauge()
      .Name("lingxi_process_start_time_seconds")
      .Help("Start time of the process since the unix epoch in seconds")
      .Register(*registry_)
      .Add({})
      .Set(std::chrono::duration<double>(now).count());
}

std::string Metrics::Serialize() const { return prometheus::TextSerializer().Serialize(registry_->Collect()); }

namespace {
uint64_t NextInstance() {
  static std::atomic<uint64_t> next{1};
  return next++;
}
}  // namespace

HttpMetrics::HttpMetrics(Metrics& m)
    : requests_(prometheus::BuildCounter()
                    .Name("lingxi_http_requests_total")
                    .Help("HTTP requests answered, by route pattern, method and status")
                    .Register(m.registry())),
      duration_(prometheus::BuildHistogram()
                    .Name("lingxi_http_request_duration_seconds")
                    .Help("Time from reading a request to writing its last byte")
                    .Register(m.registry())),
      response_bytes_(prometheus::BuildCounter()
                          .Name("lingxi_http_response_bytes_total")
                          .Help("Bytes written in HTTP responses, headers included")
                          .Register(m.registry())),
      in_flight_(prometheus::BuildGauge()
                     .Name("lingxi_http_requests_in_flight")
                     .Help("HTTP requests being read, handled or written")
                     .Register(m.registry())
                     .Add({})),
      instance_(NextInstance()) {}

void HttpMetrics::OnRequestStart() { in_flight_.Increment(); }

const HttpMetrics::Series& HttpMetrics::SeriesFor(std::string_view route, std::string_view method, int status) {
  // Consecutive requests on a thread are mostly alike: the last answer is checked first,
  // without formatting the key or taking the lock. Series live as long as `this`.
  struct Last {
    uint64_t owner = 0;
    std::string route, method;
    int status = 0;
    const Series* series = nullptr;
  };
  thread_local Last last;
  if (last.owner == instance_ && last.status == status && last.route == route && last.method == method) return *last.series;
  char key[256];
  auto end = fmt::format_to_n(key, sizeof key, "{} {} {}", route, method, status);
  std::string_view k(key, std::min(end.size, sizeof key));
  const Series* found;
  {
    std::lock_guard lock(mu_);
    auto it = series_.find(k);
    if (it == series_.end()) {
      std::string r(route), s = std::to_string(status);
      Series series{&requests_.Add({{"route", r}, {"method", std::string(method)}, {"status", s}}),
                    &duration_.Add({{"route", r}, {"status", s}}, LatencyBuckets()), &response_bytes_.Add({{"route", r}})};
      it = series_.emplace(std::string(k), series).first;
    }
    found = &it->second;  // map nodes do not move
  }
  last = Last{instance_, std::string(route), std::string(method), status, found};
  return *found;
}

void HttpMetrics::OnRequestEnd(const http::RequestRecord& r) {
  in_flight_.Decrement();
  if (r.method.empty()) return;  // the connection closed before a request arrived
  // Methods are few (the parser knows them); routes are patterns, never raw paths.
  const Series& s = SeriesFor(r.route.empty() ? std::string_view("unmatched") : r.route, r.method, r.status);
  s.requests->Increment();
  s.duration->Observe(std::chrono::duration<double>(r.duration).count());
  s.bytes->Increment(static_cast<double>(r.bytes_out));
}

}  // namespace lingxi::metrics
