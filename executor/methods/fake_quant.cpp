// Simulated quantization: every function replaces values by what their codes decode to, in the order a real
// encoder would compute them (range, fp16 header rounding, codes, values), so accuracy is that of the format.
// The asymmetric paths call the kernels' per-element math (kernels/quant_math.hpp) rather than re-deriving it.
#include "executor/methods/fake_quant.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/quant_math.hpp"
#include "core/formats/weight_format.hpp"

namespace splitsim {

// ---------------------------------------------------------------------------------------------- values

void fake_quant_symmetric(std::span<float> x, int bits) {
  float amax = 0;
  for (float v : x) amax = std::max(amax, std::abs(v));
  if (!(amax > 0)) {
    std::fill(x.begin(), x.end(), 0.0f);
    return;
  }
  const double qmax = static_cast<double>((1 << (bits - 1)) - 1);
  const float scale = qmath::half_to_float(qmath::half_round_up(std::min<double>(amax / qmax, qmath::kHalfMax)));
  const auto qm = static_cast<float>(qmax);
  for (float& v : x) v = std::clamp(std::rint(v / scale), -qm, qm) * scale;
}

void fake_quant_asymmetric(std::span<float> x, int bits, double clip) {
  if (x.empty()) return;
  float lo = qmath::dense_sanitize(x[0]), hi = lo;
  for (float v : x) {
    lo = std::min(lo, qmath::dense_sanitize(v));
    hi = std::max(hi, qmath::dense_sanitize(v));
  }
  lo = static_cast<float>(clip * lo);
  hi = static_cast<float>(clip * hi);
  const qmath::ActHeader h = qmath::act_header(lo, hi, bits);
  const float mn = qmath::half_to_float(h.min_h), delta = qmath::half_to_float(h.delta_h);
  const float inv = qmath::inv_or_zero(delta);
  const uint32_t max_code = (1u << bits) - 1u;
  for (float& v : x) v = qmath::act_value(qmath::act_code(qmath::dense_sanitize(v), mn, inv, max_code), mn, delta);
}

void round_to_half(std::span<float> x) {
  for (float& v : x) v = qmath::half_to_float(qmath::float_to_half(v));
}

// ---------------------------------------------------------------------------------------------- weights

double fake_quant_weight_rows(float* w, int64_t rows, int64_t cols, int bits) {
  for (int64_t r = 0; r < rows; ++r) fake_quant_symmetric({w + r * cols, static_cast<size_t>(cols)}, bits);
  return static_cast<double>(rows * (quantized_row_code_bytes(cols, bits) + 2));
}

void weight_group_values(const float* w, int64_t n, int bits, double clip_lo, double clip_hi, float* out) {
  float lo = w[0], hi = w[0];
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, w[i]);
    hi = std::max(hi, w[i]);
  }
  // The clipped range; quantizing the clamped weights makes this exactly what quantize_matrix does after the
  // same clamp (it reads the group's range from the values it is given).
  const float clo = static_cast<float>(clip_lo * lo), chi = static_cast<float>(clip_hi * hi);
  const qmath::WeightGroupHeader h = qmath::weight_group_header(clo, chi, bits);
  const float scale = qmath::half_to_float(h.scale_h), zero = qmath::half_to_float(h.zero_h);
  const float inv = 1.0f / scale;
  const uint32_t max_code = (1u << bits) - 1u;
  for (int64_t i = 0; i < n; ++i) {
    const float c = std::clamp(w[i], clo, chi);
    out[i] = qmath::weight_value(qmath::weight_code(c, inv, zero, max_code), scale, zero);
  }
}

double fake_quant_weight_groups(float* w, int64_t rows, int64_t cols, int bits, int group, double clip_lo,
                                double clip_hi) {
  std::vector<float> tmp(static_cast<size_t>(group));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c0 = 0; c0 < cols; c0 += group) {
      const int64_t n = std::min<int64_t>(group, cols - c0);
      float* g = w + r * cols + c0;  // (n)
      weight_group_values(g, n, bits, clip_lo, clip_hi, tmp.data());
      std::copy_n(tmp.data(), n, g);
    }
  return static_cast<double>(quantized_matrix_bytes(rows, cols, bits, group));
}

// ---------------------------------------------------------------------------------------------- activations

void PerTokenSymmetricHook::transform(const float* X, int64_t cols, int64_t n, float* out) const {
  std::copy_n(X, cols * n, out);
  for (int64_t c = 0; c < n; ++c) fake_quant_symmetric({out + c * cols, static_cast<size_t>(cols)}, bits_);
}

void PerTokenAsymmetricHook::transform(const float* X, int64_t cols, int64_t n, float* out) const {
  std::copy_n(X, cols * n, out);
  for (int64_t c = 0; c < n; ++c) fake_quant_asymmetric({out + c * cols, static_cast<size_t>(cols)}, bits_);
}

void Int8DecompositionHook::transform(const float* X, int64_t cols, int64_t n, float* out) const {
  std::vector<float> rest;  // the non-outlier entries of one token
  for (int64_t c = 0; c < n; ++c) {
    const float* x = X + c * cols;  // (cols)
    float* o = out + c * cols;
    rest.clear();
    for (int64_t j = 0; j < cols; ++j)
      if (!(std::abs(x[j]) > threshold_)) rest.push_back(x[j]);
    fake_quant_symmetric(rest, 8);
    size_t k = 0;
    for (int64_t j = 0; j < cols; ++j)
      o[j] = std::abs(x[j]) > threshold_ ? qmath::half_to_float(qmath::float_to_half(x[j])) : rest[k++];
  }
}

void RecordingHook::transform(const float* X, int64_t cols, int64_t n, float* out) const {
  std::copy_n(X, cols * n, out);
  sink_->insert(sink_->end(), X, X + cols * n);
}

}  // namespace splitsim
