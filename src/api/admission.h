// The admission stage on the HTTP side: who the client is (its address, through trusted
// proxies), the pipeline's Admit() before any model endpoint, and the rate limit headers.
#pragma once

#include <string>
#include <vector>

#include "http/message.h"
#include "ratelimit/limiter.h"

namespace lingxi::api {

struct ApiContext;

// The client's address: the peer, or, when the peer is a trusted proxy, the last address in
// X-Forwarded-For that is not a trusted proxy.
std::string ClientAddress(const http::Request& req, const std::vector<std::string>& trusted_proxies);

// X-RateLimit-Limit, -Remaining, -Reset (seconds), and Retry-After when limited.
void SetRateLimitHeaders(http::Headers& headers, const ratelimit::Decision& d);

// Runs the admission stage, then `inner`. A refused request gets its error (429 when limited)
// with the rate limit headers; an admitted one gets them on its response.
http::Handler Admitted(ApiContext& ctx, http::Handler inner);

}  // namespace lingxi::api
