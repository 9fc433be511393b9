// Metrics: the process's Prometheus registry and the HTTP metric catalogue.
//
// Metrics (all under lingxi_):
//   lingxi_http_requests_total{route,method,status}          counter
//   lingxi_http_request_duration_seconds{route,status}       histogram, request read to last byte
//   lingxi_http_requests_in_flight                           gauge
//   lingxi_http_response_bytes_total{route}                  counter
//   lingxi_build_info{version,commit,llama_cpp}              gauge, always 1
//   lingxi_process_start_time_seconds                        gauge, unix time
// `route` is the matched route pattern ("/v1/models/{id}"), or "unmatched", never a raw path,
// so a scan of random URLs cannot blow up the series count.
//
// Thread-safe: prometheus-cpp metrics are atomic; families lock on first use of a label set.
// Owned by main; modules get a reference and register their own families on it.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "http/server.h"

namespace lingxi::metrics {

class Metrics {
 public:
  Metrics();
  prometheus::Registry& registry() { return *registry_; }
  // The whole registry in the Prometheus text exposition format 0.0.4.
  std::string Serialize() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
};

// Records every HTTP request the server answers.
class HttpMetrics : public http::Observer {
 public:
  explicit HttpMetrics(Metrics& metrics);
  void OnRequestStart() override;
  void OnRequestEnd(const http::RequestRecord& record) override;

 private:
  // The three series of one (route, method, status), looked up once and then kept: building
  // label maps per request would cost more than the rest of a proxied request's bookkeeping.
  struct Series {
    prometheus::Counter* requests;
    prometheus::Histogram* duration;
    prometheus::Counter* bytes;
  };
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view k) const { return std::hash<std::string_view>{}(k); }
  };
  const Series& SeriesFor(std::string_view route, std::string_view method, int status);

  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& duration_;
  prometheus::Family<prometheus::Counter>& response_bytes_;
  prometheus::Gauge& in_flight_;
  std::mutex mu_;
  std::unordered_map<std::string, Series, KeyHash, std::equal_to<>> series_;  // guarded by mu_
  const uint64_t instance_;  // tells this from a later HttpMetrics at the same address
};

}  // namespace lingxi::metrics
