// Router: the route table. Patterns are literal paths with optional "{name}" segments
// ("/v1/models/{id}"). Built once at start-up, then read-only and shared by all I/O threads.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/message.h"

namespace lingxi::http {

class Router {
 public:
  // Registers `handler` for `method` on `pattern`. GET routes also answer HEAD.
  void Add(std::string method, std::string pattern, Handler handler);

  struct Match {
    const Handler* handler = nullptr;  // null when nothing matched
    std::string_view route;            // the matched pattern; the metric label
    std::vector<std::string> allowed;  // when the path matched but the method did not
    std::vector<std::pair<std::string, std::string>> params;
  };
  Match Find(std::string_view method, std::string_view path) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace lingxi::http
