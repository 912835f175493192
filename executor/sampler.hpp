// Choosing the next token from logits: greedy (temperature 0), temperature sampling, or top-p (nucleus)
// sampling, with llama2.c's xorshift generator so that a seed gives the same stream everywhere.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace splitsim {

struct SamplingConfig {
  double temperature = 0.0;  // 0 = greedy
  double top_p = 0.9;        // nucleus; <= 0 or >= 1 samples from the whole distribution
  uint64_t seed = 42;
};

class Sampler {
 public:
  explicit Sampler(const SamplingConfig& c);
  // Consumes the logits (V) — they are turned into probabilities in place when sampling.
  int32_t sample(std::span<float> logits);
  float random_f32();

 private:
  SamplingConfig cfg_;
  uint64_t state_;
  std::vector<std::pair<float, int32_t>> candidates_;
};

int32_t argmax(std::span<const float> v);  // first maximum
void softmax(std::span<float> v);          // in place, max-subtracted
// log of the softmax of `logits` (V) into `out` (V), in double for perplexity and KL.
void log_softmax(std::span<const float> logits, std::vector<double>& out);

}  // namespace splitsim
