#include "api/admission.h"

#include <algorithm>

#include "api/errors.h"
#include "api/routes.h"

namespace lingxi::api {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int64_t CeilSeconds(std::chrono::microseconds d) { return (d.count() + 999'999) / 1'000'000; }

std::string BearerToken(const http::Request& req) {
  std::string_view auth = Trim(req.headers.Get("Authorization"));
  if (auth.size() < 7 || !http::EqualsIgnoreCase(auth.substr(0, 7), "Bearer ")) return "";
  return std::string(Trim(auth.substr(7)));
}

}  // namespace

std::string ClientAddress(const http::Request& req, const std::vector<std::string>& trusted) {
  auto is_trusted = [&](std::string_view a) { return std::find(trusted.begin(), trusted.end(), a) != trusted.end(); };
  std::string client = req.remote_address;
  if (!is_trusted(client)) return client;
  // Rightmost first: each trusted proxy appended the address it got the request from.
  std::string_view xff = req.headers.Get("X-Forwarded-For");
  while (!xff.empty()) {
    size_t comma = xff.rfind(',');
    std::string_view hop = Trim(comma == std::string_view::npos ? xff : xff.substr(comma + 1));
    xff = comma == std::string_view::npos ? std::string_view() : xff.substr(0, comma);
    if (hop.empty()) continue;
    client = std::string(hop);
    if (!is_trusted(hop)) break;
  }
  return client;
}

void SetRateLimitHeaders(http::Headers& h, const ratelimit::Decision& d) {
  h.Set("X-RateLimit-Limit", std::to_string(d.limit));
  h.Set("X-RateLimit-Remaining", std::to_string(d.remaining));
  h.Set("X-RateLimit-Reset", std::to_string(CeilSeconds(d.reset)));
  if (!d.allowed) h.Set("Retry-After", std::to_string(std::max<int64_t>(1, CeilSeconds(d.retry_after))));
}

http::Handler Admitted(ApiContext& ctx, http::Handler inner) {
  return [&ctx, inner = std::move(inner)](http::Request& req) -> http::Task<http::Response> {
    pipeline::Caller caller{ClientAddress(req, ctx.trusted_proxies), BearerToken(req), ""};
    auto admission = co_await ctx.pipeline->Admit(caller);
    req.principal = admission.key;
    http::Response res;  // no co_await inside ?: (GCC 12 miscompiles it)
    if (admission.status.ok()) res = co_await inner(req);
    else res = ErrorResponse(admission.status);
    if (admission.limit) SetRateLimitHeaders(res.headers, *admission.limit);
    co_return res;
  };
}

}  // namespace lingxi::api
