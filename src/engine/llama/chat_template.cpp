#include "engine/llama/chat_template.h"

#include <chat.h>

namespace lingxi::engine::llama {

Result<std::unique_ptr<ChatTemplate>> ChatTemplate::Create(const llama_model* model,
                                                           const std::string& override_template) {
  try {
    auto t = common_chat_templates_init(model, override_template);
    if (!t) return Status::InvalidArgument("no usable chat template");
    return std::unique_ptr<ChatTemplate>(new ChatTemplate(t.release()));
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("chat template: ") + e.what());
  }
}

ChatTemplate::~ChatTemplate() { common_chat_templates_free(templates_); }

Result<std::string> ChatTemplate::Apply(const std::vector<Message>& messages) const {
  common_chat_templates_inputs inputs;
  inputs.add_generation_prompt = true;
  inputs.use_jinja = true;
  for (const auto& m : messages) {
    common_chat_msg msg;
    msg.role = m.role;
    msg.content = m.Text();
    inputs.messages.push_back(std::move(msg));
  }
  try {
    return common_chat_templates_apply(templates_, inputs).prompt;
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("cannot apply the chat template: ") + e.what());
  }
}

std::string ChatTemplate::Source() const { return common_chat_templates_source(templates_); }

}  // namespace lingxi::engine::llama
