// What the linked llama.cpp build can do (CPU features, GPU backends), for `lingxi version`
// and the start-up log. Thread-safe after the first call.
#pragma once

#include <string>

namespace lingxi::engine::llama {

// llama.cpp's own one-line summary ("CPU : SSE3 = 1 | AVX2 = 1 | ...").
std::string SystemInfo();
// Names of the ggml backend devices available in this process ("CPU", "CUDA0", ...).
std::string Devices();

}  // namespace lingxi::engine::llama
