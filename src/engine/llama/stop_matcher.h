// StopMatcher: turns the pieces of generated tokens into text that is safe to send.
// It holds back (1) an incomplete UTF-8 sequence at the end (a token may end mid-character),
// and (2) any tail that could be the start of a stop string, so a stop string is never sent
// and never split across chunks. Not thread-safe; one per request.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lingxi::engine::llama {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops = {});

  struct Out {
    std::string text;     // send this now
    bool stopped = false;  // a stop string was found; `text` ends right before it
  };
  Out Push(std::string_view piece);
  // End of generation: what is still held back (an incomplete UTF-8 tail is dropped).
  std::string Flush();

 private:
  std::vector<std::string> stops_;
  std::string pending_;
};

// Length of the longest prefix of `s` that ends on a UTF-8 character boundary.
size_t Utf8CompleteLength(std::string_view s);

}  // namespace lingxi::engine::llama
