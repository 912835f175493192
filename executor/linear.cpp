// The executor's dense matrix multiply: streams each weight row once per call and multiplies it with every
// token column of the batch while it sits in L1. Decode is memory-bound (one or a few columns), so the
// figure of merit is weight bytes streamed per second; `splitsim bench exec` reports it against memcpy.
#include "executor/linear.hpp"

#include <cassert>

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

}  // namespace splitsim
