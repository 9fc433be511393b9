#include "engine/upstream/sse.h"

namespace lingxi::engine::upstream {

std::optional<std::string> SseParser::Next() {
  for (;;) {
    size_t eol = pending_.find_first_of("\r\n", pos_);
    if (eol == std::string::npos) break;
    // A CR at the very end may be the first half of CRLF: wait for the next byte.
    if (pending_[eol] == '\r' && eol + 1 == pending_.size()) break;
    std::string_view line(pending_.data() + pos_, eol - pos_);
    pos_ = eol + ((pending_[eol] == '\r' && pending_[eol + 1] == '\n') ? 2 : 1);
    if (line.empty()) {  // end of an event
      if (!has_data_) continue;
      std::string out = std::move(data_);
      data_.clear();
      has_data_ = false;
      return out;
    }
    if (line.front() == ':') continue;  // comment
    size_t colon = line.find(':');
    std::string_view field = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (field == "data") {
      if (has_data_) data_ += '\n';
      data_.append(value);
      has_data_ = true;
    }
    // event:, id:, retry: carry nothing an OpenAI stream needs.
  }
  if (pos_ > 0 && pos_ * 2 >= pending_.size()) {  // compact now and then, not per byte
    pending_.erase(0, pos_);
    pos_ = 0;
  }
  return std::nullopt;
}

}  // namespace lingxi::engine::upstream
