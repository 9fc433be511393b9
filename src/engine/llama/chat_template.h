// ChatTemplate: renders chat messages into a prompt with the model's Jinja template
// (tokenizer.chat_template in the GGUF) or a configured override, through llama.cpp's own
// template engine (common/chat.h), as llama-server does. Thread-compatible: Apply() is const
// and called from the engine thread only.
#pragma once

#include <llama.h>

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/types.h"

struct common_chat_templates;

namespace lingxi::engine::llama {

class ChatTemplate {
 public:
  // `override_template` empty: use the model's. Fails when neither is usable.
  static Result<std::unique_ptr<ChatTemplate>> Create(const llama_model* model, const std::string& override_template);
  ~ChatTemplate();

  // The prompt for `messages`, ending with the assistant's turn start.
  Result<std::string> Apply(const std::vector<Message>& messages) const;
  // The template's source, for logs and /v1/models.
  std::string Source() const;

 private:
  explicit ChatTemplate(common_chat_templates* t) : templates_(t) {}
  common_chat_templates* templates_;  // owned
};

}  // namespace lingxi::engine::llama
