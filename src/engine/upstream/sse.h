// SseParser: splits a text/event-stream body into the data of its events, however the bytes
// arrive (an event cut across reads, CRLF or LF line ends, comments, multi-line data).
// One parser per response; not thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lingxi::engine::upstream {

class SseParser {
 public:
  void Feed(std::string_view bytes) { pending_.append(bytes); }
  // The next complete event's data (its `data:` lines joined by '\n'), or nullopt until more
  // bytes come. Events without data lines (comments, keep-alives) are skipped.
  std::optional<std::string> Next();
  // Bytes of an event not yet complete (for an error message when the stream ends early).
  size_t buffered() const { return pending_.size() - pos_; }

 private:
  std::string pending_;
  size_t pos_ = 0;  // start of the unparsed bytes in pending_
  std::string data_;
  bool has_data_ = false;
};

}  // namespace lingxi::engine::upstream
