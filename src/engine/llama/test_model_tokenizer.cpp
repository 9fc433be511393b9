#include "engine/llama/test_model_tokenizer.h"

#include <cctype>
#include <map>
#include <set>
#include <string_view>

namespace lingxi::engine::llama {
namespace {

// What the merges are learned from. Any English will do; this one talks about lingxi.
constexpr std::string_view kCorpus =
    "Hello world, hello lingxi! Lingxi is a server that puts a language model to work inside a team. "
    "It answers questions, writes summaries of long threads, and helps people find what they need. "
    "The model runs on the same machine as the server, or on a cluster of machines behind it. "
    "When many people ask at the same time, the server decodes their answers together in one batch, "
    "so that each of them sees the first words of the answer quickly. The answers stream back as they "
    "are written, token by token, and the server keeps the start of each conversation in its cache, "
    "so the next turn of a chat does not compute the whole history again. "
    "The weather today is mild, with a light wind from the west and a few clouds over the hills. "
    "In the morning the team meets to plan the work of the day; in the evening they write down what "
    "they learned. A good plan is short, clear and honest about what is not known yet. "
    "Numbers like 1, 2, 3, 10, 42, 100 and 2026 appear in reports, tables and questions about time. "
    "Please tell me more about the model, the server and the cache. What is the answer to the question? "
    "The quick brown fox jumps over the lazy dog. Every request gets an answer or a clear error. "
    "Questions and answers, requests and responses, prompts and completions: the words of this trade.";

// GPT-2's reversible byte -> printable code point map, UTF-8 encoded.
std::vector<std::string> ByteSymbols() {
  std::vector<int> printable;
  for (int b = 33; b <= 126; ++b) printable.push_back(b);
  for (int b = 161; b <= 172; ++b) printable.push_back(b);
  for (int b = 174; b <= 255; ++b) printable.push_back(b);
  std::vector<int> code(256, -1);
  for (int b : printable) code[b] = b;
  int extra = 0;
  for (int b = 0; b < 256; ++b)
    if (code[b] < 0) code[b] = 256 + extra++;
  std::vector<std::string> out(256);
  for (int b = 0; b < 256; ++b) {
    int c = code[b];
    std::string s;
    if (c < 0x80) {
      s += static_cast<char>(c);
    } else {
      s += static_cast<char>(0xC0 | (c >> 6));
      s += static_cast<char>(0x80 | (c & 0x3F));
    }
    out[b] = s;
  }
  return out;
}

// Splits like GPT-2's pre-tokenizer, roughly: a word keeps its leading space.
std::vector<std::string> Words(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  auto kind = [](unsigned char c) { return std::isalpha(c) ? 0 : std::isdigit(c) ? 1 : std::isspace(c) ? 2 : 3; };
  while (i < text.size()) {
    size_t start = i;
    if (text[i] == ' ' && i + 1 < text.size() && kind(text[i + 1]) != 2) ++i;
    int k = kind(static_cast<unsigned char>(text[i]));
    while (i < text.size() && kind(static_cast<unsigned char>(text[i])) == k && (k != 2 || text[i] == ' ')) ++i;
    if (i == start) ++i;
    out.emplace_back(text.substr(start, i - start));
  }
  return out;
}

}  // namespace

Vocabulary BuildVocabulary(int n_vocab) {
  Vocabulary v;
  const int budget = n_vocab - 3;  // leave room for the control tokens
  auto symbols = ByteSymbols();
  std::set<std::string> known(symbols.begin(), symbols.end());
  v.tokens = symbols;

  // Each distinct word as a sequence of symbols, with its count.
  std::map<std::string, int> counts;
  for (const auto& w : Words(kCorpus)) ++counts[w];
  std::vector<std::pair<std::vector<std::string>, int>> words;
  for (const auto& [w, n] : counts) {
    std::vector<std::string> syms;
    for (unsigned char c : w) syms.push_back(symbols[c]);
    words.emplace_back(std::move(syms), n);
  }

  while (static_cast<int>(v.tokens.size()) < budget) {
    std::map<std::pair<std::string, std::string>, int> pairs;
    for (const auto& [syms, n] : words)
      for (size_t i = 0; i + 1 < syms.size(); ++i) pairs[{syms[i], syms[i + 1]}] += n;
    if (pairs.empty()) break;
    // Most frequent pair; ties go to the first in map order, so the result is deterministic.
    auto best = pairs.begin();
    for (auto it = pairs.begin(); it != pairs.end(); ++it)
      if (it->second > best->second) best = it;
    const auto [a, b] = best->first;
    std::string merged = a + b;
    v.merges.push_back(a + " " + b);
    if (known.insert(merged).second) v.tokens.push_back(merged);
    for (auto& [syms, n] : words) {
      std::vector<std::string> next;
      for (size_t i = 0; i < syms.size(); ++i) {
        if (i + 1 < syms.size() && syms[i] == a && syms[i + 1] == b) {
          next.push_back(merged);
          ++i;
        } else {
          next.push_back(syms[i]);
        }
      }
      syms = std::move(next);
    }
  }
  v.types.assign(v.tokens.size(), 1);

  // The text ran out of pairs: fill with short made-up words so every id decodes to text.
  const std::string space = symbols[' '];
  for (int n = 0; static_cast<int>(v.tokens.size()) < budget; ++n) {
    std::string word = space;
    for (int k = n; ; k = k / 26 - 1) {
      word.insert(space.size(), 1, static_cast<char>('a' + k % 26));
      if (k < 26) break;
    }
    if (known.insert(word).second) {
      v.tokens.push_back(word);
      v.types.push_back(1);
    }
  }

  v.endoftext = static_cast<int>(v.tokens.size());
  v.im_start = v.endoftext + 1;
  v.im_end = v.endoftext + 2;
  for (const char* special : {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}) {
    v.tokens.push_back(special);
    v.types.push_back(3);
  }
  return v;
}

}  // namespace lingxi::engine::llama
