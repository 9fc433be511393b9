// Builds a llama.cpp sampler chain from a request's SamplingParams (grammar or JSON schema
// first, then penalties, top-k, top-p, min-p, temperature, and a seeded draw; greedy when
// temperature <= 0). The caller owns the returned chain (llama_sampler_free).
#pragma once

#include <llama.h>

#include <memory>
#include <vector>

#include "core/status.h"
#include "engine/types.h"

namespace lingxi::engine::llama {

struct SamplerDeleter {
  void operator()(llama_sampler* s) const { llama_sampler_free(s); }
};
using SamplerPtr = std::unique_ptr<llama_sampler, SamplerDeleter>;

// InvalidArgument when the grammar or schema does not parse. `eog` lists the vocabulary's
// end-of-generation tokens (banned when params.ignore_eos).
Result<SamplerPtr> MakeSampler(const SamplingParams& params, const llama_vocab* vocab,
                               const std::vector<llama_token>& eog);

// The GBNF grammar a request asks for ("" when none): its grammar, or its JSON schema or
// json_object converted. InvalidArgument when the schema is not valid JSON.
Result<std::string> GrammarFor(const SamplingParams& params);

}  // namespace lingxi::engine::llama
