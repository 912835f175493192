// Choosing the next token from logits: greedy (temperature 0), temperature sampling, or top-p (nucleus)
// sampling, with llama2.c's xorshift generator so that a seed gives the same stream everywhere.
//
// Sampling is total: any finite temperature >= 0 and any finite top-p give a valid token for any logits
// that are finite or -inf (a -inf logit has probability zero) with at least one finite. Logits holding NaN
// or +inf, or none finite, are a SamplingError for that request (a broken model, not a crash); settings
// that are not finite are refused where they enter (check_sampling: the flags, the server's hello).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace splitsim {

struct SamplingConfig {
  double temperature = 0.0;  // 0 = greedy
  double top_p = 0.9;        // nucleus; <= 0 or >= 1 samples from the whole distribution
  uint64_t seed = 42;
};

// InputError "<temperature_name>: expected a finite number >= 0, got nan" (and the same for top-p, which
// must be finite): how the flags and the server's hello refuse settings no distribution can follow.
void check_sampling(const SamplingConfig& c, const std::string& temperature_name, const std::string& top_p_name);

// Logits no token can be sampled from. An InputError: it comes from the model's weights (a checkpoint
// holding NaN), and it ends the request that met it.
struct SamplingError : InputError {
  using InputError::InputError;
};

class Sampler {
 public:
  explicit Sampler(const SamplingConfig& c);
  // Consumes the logits (V) — they are turned into probabilities in place when sampling. Throws
  // SamplingError on NaN, +inf, no finite logit or an empty span.
  int32_t sample(std::span<float> logits);
  float random_f32();

 private:
  SamplingConfig cfg_;
  uint64_t state_;
  std::vector<std::pair<float, int32_t>> candidates_;
};

int32_t argmax(std::span<const float> v);  // first maximum; NaN never wins
void softmax(std::span<float> v);          // in place, max-subtracted
// log of the softmax of `logits` (V) into `out` (V), in double for perplexity and KL.
void log_softmax(std::span<const float> logits, std::vector<double>& out);

}  // namespace splitsim
