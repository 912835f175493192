// The executor's dense matrix multiply: streams each weight row once per call and multiplies it with every
// token column of the batch while it sits in L1. Decode is memory-bound (one or a few columns), so the
// figure of merit is weight bytes streamed per second; `splitsim bench exec` reports it against memcpy.
#include "executor/linear.hpp"

#include <fmt/format.h>

#include <cassert>

#include "core/error.hpp"
#include "kernels/quant_math.hpp"  // header-only: the project's one fp16 conversion
#include "kernels/opsc.hpp"

namespace splitsim {

namespace {

constexpr int kLanes = 16;

// One dot product in the fixed order every caller shares: lanes, pairwise reduction, scalar tail.
inline float dot_fixed(const float* w, const float* x, int64_t n) {
  float acc[kLanes] = {};
  const int64_t body = n - n % kLanes;
  for (int64_t k = 0; k < body; k += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += w[k + l] * x[k + l];
  for (int width = kLanes / 2; width > 0; width /= 2)
    for (int l = 0; l < width; ++l) acc[l] += acc[l + width];
  float s = acc[0];
  for (int64_t k = body; k < n; ++k) s += w[k] * x[k];
  return s;
}

}  // namespace

void matmul_fp32(const float* W, int64_t rows, int64_t cols, const float* X, int64_t n, float* Y) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* w = W + r * cols;  // (cols)
    for (int64_t b = 0; b < n; ++b) Y[b * rows + r] = dot_fixed(w, X + b * cols, cols);
  }
}

Linear::Linear(int64_t rows, int64_t cols, std::vector<float> w) : rows_(rows), cols_(cols), w_(std::move(w)) {
  assert(static_cast<int64_t>(w_.size()) == rows * cols);
}

const float* Linear::hooked(const float* X, int64_t n) const {
  if (!hook_) return X;
  thread_local std::vector<float> buffer;  // (cols, n)
  buffer.resize(static_cast<size_t>(cols_ * n));
  hook_->transform(X, cols_, n, buffer.data());
  return buffer.data();
}

// fp16: every weight rounded to nearest even once, here; the multiply widens it back exactly (matmul_fp16).
bool Linear::to_half(int bits) {
  if (bits != 16) return false;
  if (bits_ != 32) throw InputError(fmt::format("weight bits: this matrix is already {}-bit", bits_));
  h_.resize(w_.size());
  for (size_t i = 0; i < w_.size(); ++i) h_[i] = qmath::float_to_half(w_[i]);
  std::vector<float>().swap(w_);
  bits_ = 16;
  return true;
}


double Linear::bytes() const {
  if (q_) return static_cast<double>(q_->bytes());
  return static_cast<double>(w_.size() * sizeof(float) + h_.size() * sizeof(uint16_t));
}

void Linear::quantize(int bits, int group_size) {
  if (bits == 32 || rows_ == 0) return;
  if (bits != 2 && bits != 3 && bits != 4 && bits != 8 && bits != 16)
    throw InputError(fmt::format("weight bits: expected 2, 3, 4, 8 (OPSC), 16 (fp16) or 32 (fp32), got {}", bits));
  if (to_half(bits)) return;
  if (bits_ != 32) throw InputError(fmt::format("weight bits: this matrix is already {}-bit", bits_));
  q_ = std::make_shared<QuantizedMatrix>(quantize_matrix(w_.data(), rows_, cols_, bits, group_size));
  std::vector<float>().swap(w_);
  bits_ = bits;
}

// The packed path: the kernels' fused dequantize-GEMV once per token column. Their GEMM would stream the
// codes once per batch, but a column's result would then depend on the batch it is in (a server batch mixes
// sessions); the packed codes are 4-16x smaller than fp32, so re-reading them per column costs little.
void Linear::apply(const float* X, int64_t n, float* Y) const {
  X = hooked(X, n);
  if (bits_ == 16) return matmul_fp16(h_.data(), rows_, cols_, X, n, Y);
  if (!q_) return matmul_fp32(w_.data(), rows_, cols_, X, n, Y);
  for (int64_t b = 0; b < n; ++b) gemv(*q_, X + b * cols_, Y + b * rows_);
}


}  // namespace splitsim
