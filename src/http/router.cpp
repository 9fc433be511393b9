#include "http/router.h"

#include <boost/container/small_vector.hpp>

#include <algorithm>

namespace lingxi::http {
namespace {

// The segments of `path`, as views into it: no allocation per request.
boost::container::small_vector<std::string_view, 8> Split(std::string_view path) {
  boost::container::small_vector<std::string_view, 8> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') { ++i; continue; }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

bool IsParam(const std::string& seg) { return seg.size() > 2 && seg.front() == '{' && seg.back() == '}'; }

}  // namespace

void Router::Add(std::string method, std::string pattern, Handler handler) {
  std::vector<std::string> segments;
  for (auto seg : Split(pattern)) segments.emplace_back(seg);
  routes_.push_back(Route{std::move(method), std::move(pattern), std::move(segments), std::move(handler)});
}

Router::Match Router::Find(std::string_view method, std::string_view path) const {
  Match match;
  auto parts = Split(path);
  // A trailing slash is a different resource, as in most APIs: "/health/" is not "/health".
  bool trailing_slash = path.size() > 1 && path.back() == '/';
  for (const auto& r : routes_) {
    if (trailing_slash || r.segments.size() != parts.size()) continue;
    std::vector<std::pair<std::string, std::string>> params;
    bool ok = true;
    for (size_t i = 0; i < parts.size() && ok; ++i) {
      if (IsParam(r.segments[i])) params.emplace_back(r.segments[i].substr(1, r.segments[i].size() - 2), std::string(parts[i]));
      else ok = r.segments[i] == parts[i];
    }
    if (!ok) continue;
    bool method_ok = r.method == method || (method == "HEAD" && r.method == "GET");
    if (method_ok) {
      match.handler = &r.handler;
      match.route = r.pattern;
      match.params = std::move(params);
      match.allowed.clear();
      return match;
    }
    match.route = r.pattern;
    if (std::find(match.allowed.begin(), match.allowed.end(), r.method) == match.allowed.end())
      match.allowed.push_back(r.method);
  }
  return match;
}

}  // namespace lingxi::http
