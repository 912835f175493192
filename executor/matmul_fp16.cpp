// fp16 weights in the executor's matrix multiply. The weights are stored as IEEE fp16 (half the bytes of fp32,
// which is what a memory-bound decode step pays for) and widened to fp32 as they are read; the widening is exact,
// and the products and sums are the fp32 path's, in its order: 16 lanes (k mod 16), the pairwise reduction
// 8-4-2-1, then the scalar tail (linear.cpp's dot_fixed). So a column's result is the same alone or batched,
// and bit for bit the result of matmul_fp32 on the fp16-rounded matrix.
//
// The reference widens one row into a buffer and calls matmul_fp32, so it is that definition. The AVX2 path
// widens 8 weights per F16C vcvtph2ps and keeps the 16 lanes in two registers per row; one row's sums are a
// chain of dependent adds (products and sums rounded separately, no FMA: this file is compiled with
// -ffp-contract=off), so four rows run side by side to keep the adders busy, and the next four are prefetched.
// No AVX-512 path: from cache the AVX2 loop already runs at fp32's bytes per second with half the bytes per
// weight (measured 33-37 GB/s for a 2048 x 768 matrix, L2/L3-resident), so decode stays memory-bound.
#include <vector>

#include "executor/linear.hpp"
#include "kernels/quant_math.hpp"
#include "kernels/simd.hpp"

namespace splitsim {

void matmul_fp16_reference(const uint16_t* W, int64_t rows, int64_t cols, const float* X, int64_t n, float* Y) {
  thread_local std::vector<float> row, y;  // (cols), (n)
  row.resize(static_cast<size_t>(cols));
  y.resize(static_cast<size_t>(n));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) row[static_cast<size_t>(c)] = qmath::half_to_float(W[r * cols + c]);
    matmul_fp32(row.data(), 1, cols, X, n, y.data());
    for (int64_t b = 0; b < n; ++b) Y[b * rows + r] = y[static_cast<size_t>(b)];
  }
}


namespace {

constexpr int64_t kLanes = 16;     // dot_fixed's partial sums: lanes 0-7 in one register, 8-15 in the other
constexpr int64_t kRowBlock = 4;   // rows whose dot products run interleaved

SPLITSIM_AVX2 inline __m256 load8_half(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// dot_fixed's reduction of its 16 lanes (lo = lanes 0-7, hi = 8-15): lane l += lane l + 8, + 4, + 2, + 1.
SPLITSIM_AVX2 inline float reduce_lanes(__m256 lo, __m256 hi) {
  const __m256 v = _mm256_add_ps(lo, hi);
  const __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 b = _mm_add_ps(a, _mm_movehl_ps(a, a));
  return _mm_cvtss_f32(_mm_add_ss(b, _mm_movehdup_ps(b)));
}

// y[i] = row i of W (R rows of cols, row-major) · x (cols), for i < R. `next` (R rows as well) is prefetched
// alongside: at half the bytes per weight, the hardware prefetcher alone kept fewer lines in flight than this
// loop consumes (9-12 GB/s from DRAM against fp32's 15-20 here; 18-19 GB/s with the explicit prefetch).
template <int R>
SPLITSIM_AVX2 void dot_rows(const uint16_t* W, int64_t cols, const float* x, float* y, const uint16_t* next) {
  __m256 lo[R], hi[R];
  for (int i = 0; i < R; ++i) lo[i] = hi[i] = _mm256_setzero_ps();
  const int64_t body = cols - cols % kLanes;
  for (int64_t k = 0; k < body; k += kLanes) {
    const __m256 x0 = _mm256_loadu_ps(x + k), x1 = _mm256_loadu_ps(x + k + 8);
    for (int i = 0; i < R; ++i) {
      const uint16_t* w = W + i * cols + k;
      if (k % 32 == 0) _mm_prefetch(reinterpret_cast<const char*>(next + i * cols + k), _MM_HINT_T0);  // a 64-B line
      lo[i] = _mm256_add_ps(lo[i], _mm256_mul_ps(load8_half(w), x0));
      hi[i] = _mm256_add_ps(hi[i], _mm256_mul_ps(load8_half(w + 8), x1));
    }
  }
  for (int i = 0; i < R; ++i) {
    float s = reduce_lanes(lo[i], hi[i]);
    for (int64_t k = body; k < cols; ++k) s += qmath::half_to_float(W[i * cols + k]) * x[k];
    y[i] = s;
  }
}

SPLITSIM_AVX2 void matmul_fp16_avx2(const uint16_t* W, int64_t rows, int64_t cols, const float* X, int64_t n, float* Y) {
  int64_t r = 0;
  // A block's rows (4 x cols fp16) stay in L1/L2 while every column of the batch is multiplied with them.
  for (; r + kRowBlock <= rows; r += kRowBlock) {
    const uint16_t* next = r + 2 * kRowBlock <= rows ? W + (r + kRowBlock) * cols : W + r * cols;
    for (int64_t b = 0; b < n; ++b) dot_rows<kRowBlock>(W + r * cols, cols, X + b * cols, Y + b * rows + r, next);
  }
  for (; r < rows; ++r)
    for (int64_t b = 0; b < n; ++b) dot_rows<1>(W + r * cols, cols, X + b * cols, Y + b * rows + r, W + r * cols);
}

}  // namespace


void matmul_fp16(const uint16_t* W, int64_t rows, int64_t cols, const float* X, int64_t n, float* Y) {
  if (simd_avx2_available()) return matmul_fp16_avx2(W, rows, cols, X, n, Y);
  matmul_fp16_reference(W, rows, cols, X, n, Y);
}

}  // namespace splitsim
