// Unsplit generation in one process: the reference the split runs are compared against.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "executor/sampler.hpp"
#include "executor/weights.hpp"

namespace splitsim {

// Context a sequence of `prompt` + `steps` tokens needs, capped at the model's max_seq_len.
int64_t context_for(const ModelSpec& m, int64_t prompt, int64_t steps);

// Prefills `prompt` as one block, then generates up to `steps` tokens (stops after BOS, llama2.c's end of
// text, or at the context limit). `on_token` sees each token as it is produced.
std::vector<int32_t> generate_unsplit(const ModelWeights& w, std::span<const int32_t> prompt, int64_t steps,
                                      const SamplingConfig& sampling,
                                      const std::function<void(int32_t)>& on_token = {});

}  // namespace splitsim
