// Sampling, after llama2.c run.c: argmax; multinomial with one uniform coin; top-p keeps the smallest set of
// most probable tokens whose mass exceeds p (tokens below (1-p)/(V-1) cannot be in it and are skipped first,
// unless the kept ones do not reach p — with a small p and a flat distribution they may not, and then every
// token is a candidate).
//
// Departure from run.c, for totality: where softmax(logit / T) in float would not be finite — a tiny
// temperature (1e-38 turned every logit into +-inf and the softmax into NaN) or one beyond float's range —
// probabilities are exp((logit - max) / T) computed in double. Subtracting the maximum first keeps every
// exponent in [-inf, 0], so the largest probability is exactly 1 before normalization and the sum is at least
// 1 for any finite T > 0. Elsewhere run.c's float arithmetic is kept, so sampled tokens are unchanged.
#include "executor/sampler.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace splitsim {

void check_sampling(const SamplingConfig& c, const std::string& temperature_name, const std::string& top_p_name) {
  if (!(std::isfinite(c.temperature) && c.temperature >= 0))
    throw InputError(
        fmt::format("{}: expected a finite number >= 0 (0 = greedy), got {}", temperature_name, c.temperature));
  if (!std::isfinite(c.top_p))
    throw InputError(fmt::format("{}: expected a finite number (<= 0 or >= 1: the whole distribution), got {}",
                                 top_p_name, c.top_p));
}

int32_t argmax(std::span<const float> v) {
  int32_t best = 0;
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] > v[static_cast<size_t>(best)] || std::isnan(v[static_cast<size_t>(best)])) best = static_cast<int32_t>(i);
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

// Long on purpose: llama2.c's run.c sampling step by step (temperature, softmax, top-p, the coin), kept in one
// piece so that it can be compared with run.c line by line.
int32_t Sampler::sample(std::span<float> logits) {
  const auto n = static_cast<int32_t>(logits.size());
  if (n == 0) throw SamplingError("logits: expected at least one, got none");
  float mx = -std::numeric_limits<float>::infinity();
  for (int32_t i = 0; i < n; ++i) {
    const float x = logits[static_cast<size_t>(i)];
    if (std::isnan(x) || x == std::numeric_limits<float>::infinity())
      throw SamplingError(
          fmt::format("logits: expected finite values (or -inf), got {} at token {}: the model's "
                      "weights give no distribution to sample from",
                      x, i));
    mx = std::max(mx, x);
  }
  if (mx == -std::numeric_limits<float>::infinity())
    throw SamplingError("logits: expected at least one finite value, got -inf everywhere");
  if (cfg_.temperature <= 0) return argmax(logits);

  // llama2.c's float arithmetic (logit / T, then a max-subtracted softmax) wherever it stays finite, so
  // results are what they were for every temperature that worked before; the double path below otherwise.
  const auto tf = static_cast<float>(cfg_.temperature);
  bool as_run_c = tf > 0 && std::isfinite(tf);
  if (as_run_c) {
    float scaled_max = -std::numeric_limits<float>::infinity();
    for (float x : logits) scaled_max = std::max(scaled_max, x / tf);
    as_run_c = std::isfinite(scaled_max);
  }
  if (as_run_c) {
    for (float& x : logits) x /= tf;
    softmax(logits);
  } else {
    const double t = cfg_.temperature;
    float sum = 0;
    for (float& x : logits) {
      x = static_cast<float>(std::exp((static_cast<double>(x) - mx) / t));  // in [0, 1]; the maximum gives 1
      sum += x;
    }
    for (float& x : logits) x /= sum;  // sum >= 1
  }
  const float coin = random_f32();
  // The last token of positive probability: where a CDF that rounding kept below the coin ends.
  auto last_positive = [&] {
    int32_t k = n - 1;
    while (k > 0 && !(logits[static_cast<size_t>(k)] > 0)) --k;
    return k;
  };
  if (cfg_.top_p <= 0 || cfg_.top_p >= 1) {
    float cdf = 0;
    for (int32_t i = 0; i < n; ++i) {
      cdf += logits[static_cast<size_t>(i)];
      if (coin < cdf) return i;
    }
    return last_positive();
  }
  const auto topp = static_cast<float>(cfg_.top_p);
  auto collect = [&](float cutoff) {
    candidates_.clear();
    for (int32_t i = 0; i < n; ++i) {
      const float p = logits[static_cast<size_t>(i)];
      if (p > 0 && p >= cutoff) candidates_.emplace_back(p, i);
    }
    // Descending probability, ties by index: a total order, so the result never depends on the sort algorithm.
    std::sort(candidates_.begin(), candidates_.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
  };
  collect(n > 1 ? (1.0f - topp) / static_cast<float>(n - 1) : 0.0f);
  float kept = 0;
  for (const auto& c : candidates_) kept += c.first;
  if (!(kept > topp)) collect(0.0f);  // the skipped tokens may belong to the nucleus: take every token
  float cum = 0;
  size_t last = candidates_.size() - 1;  // not empty: the maximum has probability 1 / sum > 0
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
