#include "engine/types.h"

namespace lingxi::engine {

std::string Message::Text() const {
  std::string out;
  for (const auto& p : parts)
    if (p.kind == ContentPart::Kind::kText) out += p.text;
  return out;
}

const char* FinishReasonName(FinishReason r) {
  switch (r) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled: return "cancelled";
    case FinishReason::kError: return "error";
  }
  return "stop";
}

}  // namespace lingxi::engine
