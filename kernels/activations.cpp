// Synthetic LLM-like hidden states (see activations.hpp). Magnitudes follow published measurements of Llama-
// family residual streams: most channels O(1), a handful of fixed channels 50-1000x larger in every token
// (Dettmers et al., LLM.int8), and a first token whose few "massive activations" reach ~1e3 (Sun et al., 2024).
#include "kernels/activations.hpp"

#include <cmath>
#include <random>

namespace splitsim {

std::vector<float> llm_like_activations(const ActivationSpec& s) {
  std::mt19937_64 rng(s.seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> chan_scale(static_cast<size_t>(s.d));
  for (auto& c : chan_scale) c = std::exp(0.35 * normal(rng));  // channel scales ~0.5..2
  std::vector<int64_t> out_ch;
  std::vector<double> out_mag;
  for (int k = 0; k < s.outlier_channels && k < s.d; ++k) {
    out_ch.push_back(static_cast<int64_t>(unit(rng) * static_cast<double>(s.d)) % s.d);
    const double lm = std::log(s.outlier_min) + unit(rng) * (std::log(s.outlier_max) - std::log(s.outlier_min));
    out_mag.push_back((unit(rng) < 0.5 ? -1.0 : 1.0) * std::exp(lm));
  }
  std::vector<float> x(static_cast<size_t>(s.T * s.d));
  for (int64_t t = 0; t < s.T; ++t) {
    const bool massive = s.massive_first_token && t == 0;
    for (int64_t i = 0; i < s.d; ++i)
      x[static_cast<size_t>(t * s.d + i)] = static_cast<float>((massive ? 5.0 : 1.0) * chan_scale[static_cast<size_t>(i)] * normal(rng));
    for (size_t k = 0; k < out_ch.size(); ++k)
      x[static_cast<size_t>(t * s.d + out_ch[k])] = static_cast<float>(out_mag[k] * (1.0 + 0.1 * normal(rng)));
    if (massive)
      for (int k = 0; k < 3; ++k)
        x[static_cast<size_t>(t * s.d + (k * 977 + 13) % s.d)] = static_cast<float>((k % 2 ? -1 : 1) * 2000.0 * (1 + 0.2 * k));
  }
  return x;
}

}  // namespace splitsim
