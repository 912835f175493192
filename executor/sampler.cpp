// Sampling, after llama2.c run.c: argmax; multinomial with one uniform coin; top-p keeps the smallest set of
// most probable tokens whose mass exceeds p (tokens below (1-p)/(V-1) cannot be in it and are skipped first).
#include "executor/sampler.hpp"

#include <algorithm>
#include <cmath>

namespace splitsim {

int32_t argmax(std::span<const float> v) {
  int32_t best = 0;
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] > v[static_cast<size_t>(best)]) best = static_cast<int32_t>(i);
  return best;
}

void softmax(std::span<float> v) {
  float mx = v[0];
  for (float x : v) mx = std::max(mx, x);
  float sum = 0;
  for (float& x : v) {
    x = std::exp(x - mx);
    sum += x;
  }
  for (float& x : v) x /= sum;
}

void log_softmax(std::span<const float> logits, std::vector<double>& out) {
  out.resize(logits.size());
  double mx = logits[0];
  for (float x : logits) mx = std::max(mx, static_cast<double>(x));
  double sum = 0;
  for (float x : logits) sum += std::exp(static_cast<double>(x) - mx);
  const double lse = mx + std::log(sum);
  for (size_t i = 0; i < logits.size(); ++i) out[i] = static_cast<double>(logits[i]) - lse;
}

Sampler::Sampler(const SamplingConfig& c) : cfg_(c), state_(c.seed ? c.seed : 0x853c49e6748fea9bull) {}

float Sampler::random_f32() {
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  const auto u32 = static_cast<uint32_t>((state_ * 0x2545F4914F6CDD1Dull) >> 32);
  return static_cast<float>(u32 >> 8) / 16777216.0f;
}

int32_t Sampler::sample(std::span<float> logits) {
  if (cfg_.temperature <= 0) return argmax(logits);
  for (float& x : logits) x /= static_cast<float>(cfg_.temperature);
  softmax(logits);
  const float coin = random_f32();
  const auto n = static_cast<int32_t>(logits.size());
  if (cfg_.top_p <= 0 || cfg_.top_p >= 1) {
    float cdf = 0;
    for (int32_t i = 0; i < n; ++i) {
      cdf += logits[static_cast<size_t>(i)];
      if (coin < cdf) return i;
    }
    return n - 1;
  }
  const auto topp = static_cast<float>(cfg_.top_p);
  const float cutoff = (1.0f - topp) / static_cast<float>(n - 1);
  candidates_.clear();
  for (int32_t i = 0; i < n; ++i)
    if (logits[static_cast<size_t>(i)] >= cutoff) candidates_.emplace_back(logits[static_cast<size_t>(i)], i);
  // Descending probability, ties by index: a total order, so the result never depends on the sort algorithm.
  std::sort(candidates_.begin(), candidates_.end(),
            [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  float cum = 0;
  size_t last = candidates_.size() - 1;
  for (size_t i = 0; i < candidates_.size(); ++i) {
    cum += candidates_[i].first;
    if (cum > topp) {
      last = i;
      break;
    }
  }
  const float r = coin * cum;
  float cdf = 0;
  for (size_t i = 0; i <= last; ++i) {
    cdf += candidates_[i].first;
    if (r < cdf) return candidates_[i].second;
  }
  return candidates_[last].second;
}

}  // namespace splitsim
