// Vectorized CPU path of the quantized GEMV (decode) and GEMM (prefill) on the packed OPSC format.
//
// GEMV, fused dequantization: per row and group, y += s_g * (sum_i q_i x_i - z_g * sum_i x_i). Eight codes are
// read as `bits` bytes and split into int32 lanes with variable shifts, widened to floats and FMA'd with x; the
// per-group sums of x (8 lanes) are computed once per call. The packed matrix is streamed once at 0.5 B per
// weight for 4 bits instead of 4 B for fp32: decode is memory-bound, so this is where the speed comes from.
// GEMM: four rows of W are dequantized into a small buffer (the same bits as dequantize_matrix), then a 4 x 2
// register-blocked FMA kernel runs over pairs of tokens. Both need group_size % 8 == 0 (every real model's
// 32/64/128); other group sizes fall back to the scalar reference. Accumulation is fp32 with FMA, so results
// differ from the double-accumulated reference by rounding only; tests bound that difference.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/opsc_internal.hpp"
#include "kernels/quant_math.hpp"
#include "kernels/simd.hpp"

namespace splitsim::opsc_detail {

namespace {

template <int B>
SPLITSIM_AVX2 inline __m256 load8_codes(const uint8_t* src) {
  return _mm256_cvtepi32_ps(simd_get8<B>(src));
}

SPLITSIM_AVX2 inline float hsum(__m256 v) {
  const __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 b = _mm_add_ps(a, _mm_movehl_ps(a, a));
  return _mm_cvtss_f32(_mm_add_ss(b, _mm_movehdup_ps(b)));
}

// 8-lane sums of x over each group's whole 8-blocks (G x 8), shared by every row.
SPLITSIM_AVX2 void group_lane_sums(const QuantizedMatrix& q, const float* x, float* xs8) {
  const int64_t G = q.groups_per_row();
  for (int64_t g = 0; g < G; ++g) {
    const int64_t c0 = g * q.group_size, c1 = std::min<int64_t>(q.cols, c0 + q.group_size);
    __m256 s = _mm256_setzero_ps();
    for (int64_t c = c0; c + 8 <= c1; c += 8) s = _mm256_add_ps(s, _mm256_loadu_ps(x + c));
    _mm256_storeu_ps(xs8 + 8 * g, s);
  }
}

template <int B>
SPLITSIM_AVX2 void gemv_rows_avx2(const QuantizedMatrix& q, const float* x, const float* xs8, float* y, int64_t r0,
                                  int64_t r1) {
  const int64_t G = q.groups_per_row(), gs = q.group_size, cols = q.cols;
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* codes = q.row_codes(r);
    const uint16_t* sc = q.scales.data() + r * G;
    const uint16_t* zr = q.zeros.data() + r * G;
    __m256 yacc = _mm256_setzero_ps();
    float ytail = 0;
    for (int64_t g = 0; g < G; ++g) {
      const int64_t c0 = g * gs, c1 = std::min(cols, c0 + gs), n8 = (c1 - c0) & ~int64_t{7};
      const uint8_t* src = codes + c0 * B / 8;
      const float* xg = x + c0;
      __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
      int64_t k = 0;
      for (; k + 16 <= n8; k += 16, src += 2 * B) {
        a0 = _mm256_fmadd_ps(load8_codes<B>(src), _mm256_loadu_ps(xg + k), a0);
        a1 = _mm256_fmadd_ps(load8_codes<B>(src + B), _mm256_loadu_ps(xg + k + 8), a1);
      }
      if (k < n8) {
        a0 = _mm256_fmadd_ps(load8_codes<B>(src), _mm256_loadu_ps(xg + k), a0);
        k += 8;
      }
      const float s = qmath::half_to_float(sc[g]), z = qmath::half_to_float(zr[g]);
      const __m256 acc = _mm256_sub_ps(_mm256_add_ps(a0, a1), _mm256_mul_ps(_mm256_set1_ps(z), _mm256_loadu_ps(xs8 + 8 * g)));
      yacc = _mm256_fmadd_ps(_mm256_set1_ps(s), acc, yacc);
      for (int64_t c = c0 + n8; c < c1; ++c)  // only the last group of a row whose cols % 8 != 0
        ytail += qmath::weight_value(qmath::unpack_code(codes, c, B), s, z) * x[c];
    }
    y[r] = hsum(yacc) + ytail;
  }
}

// Row r of W^ into w (cols floats), bit-identical to dequantize_matrix.
template <int B>
SPLITSIM_AVX2 void dequant_row(const QuantizedMatrix& q, int64_t r, float* w) {
  const int64_t G = q.groups_per_row(), gs = q.group_size, cols = q.cols;
  const uint8_t* codes = q.row_codes(r);
  for (int64_t g = 0; g < G; ++g) {
    const int64_t c0 = g * gs, c1 = std::min(cols, c0 + gs);
    const float s = qmath::half_to_float(q.scales[static_cast<size_t>(r * G + g)]);
    const float z = qmath::half_to_float(q.zeros[static_cast<size_t>(r * G + g)]);
    const __m256 vs = _mm256_set1_ps(s), vz = _mm256_set1_ps(z);
    int64_t c = c0;
    for (const uint8_t* src = codes + c0 * B / 8; c + 8 <= c1; c += 8, src += B)
      _mm256_storeu_ps(w + c, _mm256_mul_ps(_mm256_sub_ps(load8_codes<B>(src), vz), vs));
    for (; c < c1; ++c) w[c] = qmath::weight_value(qmath::unpack_code(codes, c, B), s, z);
  }
}

template <int B>
SPLITSIM_AVX2 void gemm_rows_avx2(const QuantizedMatrix& q, const float* x, int64_t T, float* y, int64_t r0,
                                  int64_t r1) {
  const int64_t cols = q.cols, rows = q.rows, c8 = cols & ~int64_t{7};
  thread_local std::vector<float> wbuf;
  wbuf.resize(static_cast<size_t>(4 * cols));
  for (int64_t r = r0; r < r1; r += 4) {
    const int rb = static_cast<int>(std::min<int64_t>(4, r1 - r));
    for (int i = 0; i < 4; ++i) {
      if (i < rb) dequant_row<B>(q, r + i, wbuf.data() + i * cols);
      else std::fill_n(wbuf.data() + i * cols, cols, 0.0f);
    }
    const float* w0 = wbuf.data();
    const float* w1 = w0 + cols;
    const float* w2 = w1 + cols;
    const float* w3 = w2 + cols;
    for (int64_t t = 0; t < T; t += 2) {
      const int tb = static_cast<int>(std::min<int64_t>(2, T - t));
      const float* x0 = x + t * cols;
      const float* x1 = tb > 1 ? x0 + cols : x0;
      __m256 acc[4][2];
      for (auto& a : acc) a[0] = a[1] = _mm256_setzero_ps();
      for (int64_t k = 0; k < c8; k += 8) {
        const __m256 xa = _mm256_loadu_ps(x0 + k), xb = _mm256_loadu_ps(x1 + k);
        const __m256 wv[4] = {_mm256_loadu_ps(w0 + k), _mm256_loadu_ps(w1 + k), _mm256_loadu_ps(w2 + k),
                              _mm256_loadu_ps(w3 + k)};
        for (int i = 0; i < 4; ++i) {
          acc[i][0] = _mm256_fmadd_ps(wv[i], xa, acc[i][0]);
          acc[i][1] = _mm256_fmadd_ps(wv[i], xb, acc[i][1]);
        }
      }
      for (int i = 0; i < rb; ++i)
        for (int j = 0; j < tb; ++j) {
          const float* xr = j ? x1 : x0;
          const float* wr = wbuf.data() + i * cols;
          float s = hsum(acc[i][j]);
          for (int64_t k = c8; k < cols; ++k) s += wr[k] * xr[k];
          y[(t + j) * rows + r + i] = s;
        }
    }
  }
}

bool fast_path(const QuantizedMatrix& q) { return simd_avx2_available() && q.group_size % 8 == 0; }

}  // namespace

void gemv_rows_cpu(const QuantizedMatrix& q, const float* x, float* y, int64_t r0, int64_t r1) {
  if (!fast_path(q)) return gemv_rows_reference(q, x, y, r0, r1);
  thread_local std::vector<float> xs8;
  xs8.resize(static_cast<size_t>(8 * q.groups_per_row()));
  group_lane_sums(q, x, xs8.data());
  switch (q.bits) {
    case 2: return gemv_rows_avx2<2>(q, x, xs8.data(), y, r0, r1);
    case 3: return gemv_rows_avx2<3>(q, x, xs8.data(), y, r0, r1);
    case 4: return gemv_rows_avx2<4>(q, x, xs8.data(), y, r0, r1);
    default: return gemv_rows_avx2<8>(q, x, xs8.data(), y, r0, r1);
  }
}

void gemm_rows_cpu(const QuantizedMatrix& q, const float* x, int64_t T, float* y, int64_t r0, int64_t r1) {
  if (!fast_path(q)) {
    std::vector<float> col(static_cast<size_t>(q.rows));
    for (int64_t t = 0; t < T; ++t) {
      gemv_rows_reference(q, x + t * q.cols, col.data(), r0, r1);
      for (int64_t r = r0; r < r1; ++r) y[t * q.rows + r] = col[static_cast<size_t>(r)];
    }
    return;
  }
  switch (q.bits) {
    case 2: return gemm_rows_avx2<2>(q, x, T, y, r0, r1);
    case 3: return gemm_rows_avx2<3>(q, x, T, y, r0, r1);
    case 4: return gemm_rows_avx2<4>(q, x, T, y, r0, r1);
    default: return gemm_rows_avx2<8>(q, x, T, y, r0, r1);
  }
}

}  // namespace splitsim::opsc_detail
