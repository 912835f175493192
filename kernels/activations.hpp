// Synthetic hidden states with the structure of real LLM residual streams, for tests and benchmarks of the
// codec when no real model is at hand: per-channel scales, a few fixed outlier channels 50-1000x the typical
// magnitude (the "emergent features" of LLM.int8), and a massive first token (attention-sink activations).
#pragma once
#include <cstdint>
#include <vector>

namespace splitsim {

struct ActivationSpec {
  int64_t T = 128, d = 4096;
  uint64_t seed = 1;
  int outlier_channels = 6;      // fixed channels, the same in every token
  double outlier_min = 50;       // magnitudes relative to the typical |x| (~1), log-uniform in [min, max]
  double outlier_max = 1000;
  bool massive_first_token = true;  // token 0: a few channels near 2000, the rest 5x larger than usual
};

// T x d, row-major, deterministic in the seed.
std::vector<float> llm_like_activations(const ActivationSpec& s);

}  // namespace splitsim
