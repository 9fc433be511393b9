// The test model's tokenizer: GPT-2-style byte-level BPE whose merges are learned,
// deterministically, from a small built-in English text. Internal to test_model.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lingxi::engine::llama {

constexpr int kMinVocab = 259;  // 256 byte tokens + <|endoftext|>, <|im_start|>, <|im_end|>

struct Vocabulary {
  std::vector<std::string> tokens;  // GPT-2 byte-to-unicode spelling
  std::vector<int32_t> types;       // llama_token_type: 1 normal, 3 control
  std::vector<std::string> merges;  // "a b", in priority order
  int endoftext = 0, im_start = 0, im_end = 0;
};

// Exactly `n_vocab` tokens (>= kMinVocab): bytes, learned merges, filler words when the text
// runs out of pairs, then the three control tokens.
Vocabulary BuildVocabulary(int n_vocab);

}  // namespace lingxi::engine::llama
