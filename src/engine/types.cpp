#include "engine/types.h"

namespace lingxi::engine {

std::string Message::Text() const {
  std::string out;
  for (const auto& p : parts)
    if (p.kind == ContentPart::Kind::kText) out += p.text;
  return out;
}

Message Message::OfText(std::string role, std::string text) {
  Message m;
  m.role = std::move(role);
  m.parts.push_back(ContentPart{ContentPart::Kind::kText, std::move(text), "", ""});
  return m;
}

const char* FinishReasonName(FinishReason r) {
  switch (r) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kToolCalls: return "tool_calls";
    case FinishReason::kCancelled: return "cancelled";
    case FinishReason::kError: return "error";
  }
  return "stop";
}

}  // namespace lingxi::engine
