// Unsplit generation: prefill the prompt block, then one decode step per generated token, sampling from the
// last position's logits each time.
#include "executor/generate.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "executor/forward.hpp"
#include "executor/tokenizer.hpp"

namespace splitsim {

int64_t context_for(const ModelSpec& m, int64_t prompt, int64_t steps) {
  return std::min(m.max_seq_len, prompt + std::max<int64_t>(steps, 0));
}

std::vector<int32_t> generate_unsplit(const ModelWeights& w, std::span<const int32_t> prompt, int64_t steps,
                                      const SamplingConfig& sampling, const std::function<void(int32_t)>& on_token) {
  const ModelSpec& m = w.spec;
  if (prompt.empty()) throw InputError("prompt: expected at least one token (BOS), got none");
  if (static_cast<int64_t>(prompt.size()) >= m.max_seq_len)
    throw InputError("prompt: expected fewer tokens than the model's max_seq_len");
  KvCache cache(m, w.part, context_for(m, static_cast<int64_t>(prompt.size()), steps));
  Workspace ws;
  Sampler sampler(sampling);
  Eigen::MatrixXf x, logits;
  std::vector<int32_t> out;
  std::vector<int32_t> block(prompt.begin(), prompt.end());
  while (static_cast<int64_t>(out.size()) < steps && cache.pos + static_cast<int64_t>(block.size()) <= cache.capacity()) {
    embed(w, block, x);                                   // (d, T)
    Segment seg{&cache, static_cast<int64_t>(block.size())};
    forward_layers(w, {&seg, 1}, x, ws);
    const int64_t last = x.cols() - 1;
    forward_head(w, x, {&last, 1}, logits, ws);           // (V, 1)
    const int32_t next = sampler.sample({logits.data(), static_cast<size_t>(m.vocab_size)});
    if (next == kBosToken) break;
    out.push_back(next);
    if (on_token) on_token(next);
    block.assign(1, next);
  }
  return out;
}

}  // namespace splitsim
