#include "engine/llama/sampling.h"

#include <json-schema-to-grammar.h>
#include <json.h>

#include <cmath>
#include <random>

namespace lingxi::engine::llama {

Result<std::string> GrammarFor(const SamplingParams& p) {
  if (!p.grammar.empty()) return p.grammar;
  std::string schema = p.json_schema;
  if (schema.empty() && p.json_object) schema = R"({"type": "object"})";
  if (schema.empty()) return std::string();
  try {
    return json_schema_to_grammar(common_json::parse(schema));
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("response_format: invalid JSON schema: ") + e.what());
  }
}

Result<SamplerPtr> MakeSampler(const SamplingParams& p, const llama_vocab* vocab,
                               const std::vector<llama_token>& eog) {
  SamplerPtr chain(llama_sampler_chain_init(llama_sampler_chain_default_params()));
  if (p.ignore_eos && !eog.empty()) {
    std::vector<llama_logit_bias> bias;
    for (llama_token t : eog) bias.push_back({t, -INFINITY});
    llama_sampler_chain_add(chain.get(), llama_sampler_init_logit_bias(llama_vocab_n_tokens(vocab),
                                                                       static_cast<int32_t>(bias.size()), bias.data()));
  }
  auto grammar = GrammarFor(p);
  if (!grammar.ok()) return grammar.status();
  if (!grammar->empty()) {
    llama_sampler* g = llama_sampler_init_grammar(vocab, grammar->c_str(), "root");
    if (!g) return Status::InvalidArgument("grammar does not parse");
    llama_sampler_chain_add(chain.get(), g);
  }
  if (p.repeat_penalty != 1.0f || p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f) {
    llama_sampler_chain_add(chain.get(), llama_sampler_init_penalties(llama_vocab_n_tokens(vocab), p.penalty_last_n, p.repeat_penalty,
                                                                      p.frequency_penalty, p.presence_penalty));
  }
  if (p.temperature <= 0.0f) {
    llama_sampler_chain_add(chain.get(), llama_sampler_init_greedy());
    return chain;
  }
  if (p.top_k > 0) llama_sampler_chain_add(chain.get(), llama_sampler_init_top_k(p.top_k));
  if (p.top_p < 1.0f) llama_sampler_chain_add(chain.get(), llama_sampler_init_top_p(p.top_p, 1));
  if (p.min_p > 0.0f) llama_sampler_chain_add(chain.get(), llama_sampler_init_min_p(p.min_p, 1));
  llama_sampler_chain_add(chain.get(), llama_sampler_init_temp(p.temperature));
  uint32_t seed = p.seed ? *p.seed : std::random_device{}();
  llama_sampler_chain_add(chain.get(), llama_sampler_init_dist(seed));
  return chain;
}

}  // namespace lingxi::engine::llama
