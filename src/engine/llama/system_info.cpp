#include "engine/llama/system_info.h"

#include <ggml-backend.h>
#include <llama.h>

namespace lingxi::engine::llama {

std::string SystemInfo() { return llama_print_system_info(); }

std::string Devices() {
  ggml_backend_load_all();
  std::string out;
  for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
    auto* dev = ggml_backend_dev_get(i);
    if (!out.empty()) out += ", ";
    out += ggml_backend_dev_name(dev);
  }
  return out;
}

}  // namespace lingxi::engine::llama
