// Vectorized CPU path of the quantized GEMV (decode) and GEMM (prefill) on the packed OPSC format.
//
// GEMV, fused dequantization: per row and group, y += s_g * (sum_i q_i x_i - z_g * sum_i x_i). Eight codes are
// read as `bits` bytes and split into int32 lanes with variable shifts, widened to floats and FMA'd with x; the
// per-group sums of x (8 lanes) are computed once per call. 4 bits, the common case, has its own nibble path
// (one vpshufb per 32 weights, x permuted to even/odd columns; AVX-512 when the host has it), since the generic
// unpack made it compute-bound. The packed matrix is streamed once at 0.5 B per
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

// GCC 12's avx512fintrin.h passes _mm512_undefined_*() through its masked builtins and then warns about it.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

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

// A row's fp16 scales and zero points as floats, 8 at a time with F16C (exact, like half_to_float): the scalar
// conversion per group cost as many instructions as the group's 128 multiply-adds.
SPLITSIM_AVX2 void row_headers_f32(const uint16_t* h, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))));
  for (; i < n; ++i) out[i] = qmath::half_to_float(h[i]);
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

// --- 4-bit GEMV: nibbles straight into float lanes ---------------------------------------------------------
// The generic path spends ~6 vector uops per 8 weights on unpacking (scalar load, broadcast, variable shift, mask)
// and is uop-bound at 4 bits. Here 16 code bytes (32 weights) are broadcast to both 128-bit halves and one
// vpshufb puts bytes 0-3 | 4-7 (or 8-11 | 12-15) into the low byte of each int32 lane; a mask gives the low
// nibbles (even columns), a shift the high nibbles (odd columns): 3.5 uops per 8 weights, convert + FMA included.
// x is permuted once per call so that each 16-column block holds its 8 even columns, then its 8 odd ones, and
// the low/high nibble lanes meet contiguous x. Needs group_size % 16 == 0 (groups then cover whole blocks); the
// columns past the last whole 16-block of a row are done in scalar with the unpermuted x.

// xp: per 16-column block, even columns then odd ones; columns past the last whole block copied as they are.
void permute_x_nibbles(const float* x, int64_t cols, float* xp) {
  const int64_t c16 = cols & ~int64_t{15};
  for (int64_t c = 0; c < c16; c += 16)
    for (int j = 0; j < 8; ++j) {
      xp[c + j] = x[c + 2 * j];
      xp[c + 8 + j] = x[c + 2 * j + 1];
    }
  for (int64_t c = c16; c < cols; ++c) xp[c] = x[c];
}

// 8-lane sums of xp over each group's whole 16-blocks (G x 8): lane l holds both nibbles' x of byte lane l.
SPLITSIM_AVX2 void group_lane_sums16(const QuantizedMatrix& q, const float* xp, float* xs8) {
  const int64_t G = q.groups_per_row();
  for (int64_t g = 0; g < G; ++g) {
    const int64_t c0 = g * q.group_size, c1 = std::min<int64_t>(q.cols, c0 + q.group_size);
    __m256 s = _mm256_setzero_ps();
    for (int64_t c = c0; c + 16 <= c1; c += 16)
      s = _mm256_add_ps(s, _mm256_add_ps(_mm256_loadu_ps(xp + c), _mm256_loadu_ps(xp + c + 8)));
    _mm256_storeu_ps(xs8 + 8 * g, s);
  }
}

SPLITSIM_AVX2 void gemv_rows_nibble(const QuantizedMatrix& q, const float* x, const float* xp, const float* xs8,
                                    float* y, int64_t r0, int64_t r1) {
  const int64_t G = q.groups_per_row(), gs = q.group_size, cols = q.cols;
  thread_local std::vector<float> sz;  // this row's scales, then zeros, as floats
  sz.resize(static_cast<size_t>(2 * G));
  // Low byte of int32 lane k <- byte k (lanes 0-3, low half) / byte 4+k (lanes 4-7, high half); 0x80 zeroes.
  const __m256i shuf0 = _mm256_setr_epi8(0, -128, -128, -128, 1, -128, -128, -128, 2, -128, -128, -128, 3, -128, -128,
                                         -128, 4, -128, -128, -128, 5, -128, -128, -128, 6, -128, -128, -128, 7, -128,
                                         -128, -128);
  const __m256i shuf1 = _mm256_add_epi8(shuf0, _mm256_set1_epi32(8));  // bytes 8-11 | 12-15: +8 on index bytes only
  const __m256i lo4 = _mm256_set1_epi32(0x0F);
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* codes = q.row_codes(r);
    row_headers_f32(q.scales.data() + r * G, G, sz.data());
    row_headers_f32(q.zeros.data() + r * G, G, sz.data() + G);
    __m256 yacc = _mm256_setzero_ps();
    float ytail = 0;
    for (int64_t g = 0; g < G; ++g) {
      const int64_t c0 = g * gs, c1 = std::min(cols, c0 + gs), n16 = (c1 - c0) & ~int64_t{15};
      const uint8_t* src = codes + c0 / 2;
      const float* xg = xp + c0;
      __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
      int64_t k = 0;
      for (; k + 32 <= n16; k += 32, src += 16) {
        const __m256i b = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src)));
        const __m256i d0 = _mm256_shuffle_epi8(b, shuf0), d1 = _mm256_shuffle_epi8(b, shuf1);
        a0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_and_si256(d0, lo4)), _mm256_loadu_ps(xg + k), a0);
        a1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(d0, 4)), _mm256_loadu_ps(xg + k + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_and_si256(d1, lo4)), _mm256_loadu_ps(xg + k + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(d1, 4)), _mm256_loadu_ps(xg + k + 24), a3);
      }
      if (k < n16) {  // one 16-block left: 8 code bytes, broadcast to both halves
        const __m256i b = _mm256_broadcastq_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(src)));
        const __m256i d0 = _mm256_shuffle_epi8(b, shuf0);
        a0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_and_si256(d0, lo4)), _mm256_loadu_ps(xg + k), a0);
        a1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(d0, 4)), _mm256_loadu_ps(xg + k + 8), a1);
      }
      const float s = sz[static_cast<size_t>(g)], z = sz[static_cast<size_t>(G + g)];
      const __m256 acc = _mm256_sub_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                                       _mm256_mul_ps(_mm256_set1_ps(z), _mm256_loadu_ps(xs8 + 8 * g)));
      yacc = _mm256_fmadd_ps(_mm256_set1_ps(s), acc, yacc);
      for (int64_t c = c0 + n16; c < c1; ++c)  // only the last group of a row whose cols % 16 != 0
        ytail += qmath::weight_value(qmath::unpack_code(codes, c, 4), s, z) * x[c];
    }
    y[r] = hsum(yacc) + ytail;
  }
}

// The same with AVX-512 (zmm, 16 lanes): 16 code bytes broadcast to the four 128-bit quarters, quarter j taking
// bytes 4j .. 4j+3, so one vpshufb yields the 16 low nibbles (even columns) and a shift the 16 high nibbles (odd
// columns) of a 32-column block; x is permuted per 32-block accordingly. Needs group_size % 32 == 0; the columns
// past a row's last whole 32-block are done in scalar.
void permute_x_nibbles32(const float* x, int64_t cols, float* xp) {
  const int64_t c32 = cols & ~int64_t{31};
  for (int64_t c = 0; c < c32; c += 32)
    for (int j = 0; j < 16; ++j) {
      xp[c + j] = x[c + 2 * j];
      xp[c + 16 + j] = x[c + 2 * j + 1];
    }
  for (int64_t c = c32; c < cols; ++c) xp[c] = x[c];
}

SPLITSIM_AVX512 void gemv_rows_nibble512(const QuantizedMatrix& q, const float* x, const float* xp, float* y,
                                         int64_t r0, int64_t r1) {
  const int64_t G = q.groups_per_row(), gs = q.group_size, cols = q.cols;
  thread_local std::vector<float> xs16, sz;
  xs16.resize(static_cast<size_t>(16 * G));
  sz.resize(static_cast<size_t>(2 * G));
  for (int64_t g = 0; g < G; ++g) {  // 16-lane sums of xp over each group's whole 32-blocks
    const int64_t c0 = g * gs, c1 = std::min(cols, c0 + gs);
    __m512 s = _mm512_setzero_ps();
    for (int64_t c = c0; c + 32 <= c1; c += 32)
      s = _mm512_add_ps(s, _mm512_add_ps(_mm512_loadu_ps(xp + c), _mm512_loadu_ps(xp + c + 16)));
    _mm512_storeu_ps(xs16.data() + 16 * g, s);
  }
  // Low byte of int32 lane 4j + k <- byte 4j + k of the broadcast quarter j; 0x80 zeroes the other bytes.
  const __m512i shuf = _mm512_set_epi32(static_cast<int>(0x8080800F), static_cast<int>(0x8080800E), static_cast<int>(0x8080800D),
                                        static_cast<int>(0x8080800C), static_cast<int>(0x8080800B), static_cast<int>(0x8080800A),
                                        static_cast<int>(0x80808009), static_cast<int>(0x80808008), static_cast<int>(0x80808007),
                                        static_cast<int>(0x80808006), static_cast<int>(0x80808005), static_cast<int>(0x80808004),
                                        static_cast<int>(0x80808003), static_cast<int>(0x80808002), static_cast<int>(0x80808001),
                                        static_cast<int>(0x80808000));
  const __m512i lo4 = _mm512_set1_epi32(0x0F);
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* codes = q.row_codes(r);
    row_headers_f32(q.scales.data() + r * G, G, sz.data());
    row_headers_f32(q.zeros.data() + r * G, G, sz.data() + G);
    __m512 yacc = _mm512_setzero_ps();
    float ytail = 0;
    for (int64_t g = 0; g < G; ++g) {
      const int64_t c0 = g * gs, c1 = std::min(cols, c0 + gs), n32 = (c1 - c0) & ~int64_t{31};
      const uint8_t* src = codes + c0 / 2;
      const float* xg = xp + c0;
      __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
      int64_t k = 0;
      for (; k + 64 <= n32; k += 64, src += 32) {
        const __m512i d0 = _mm512_shuffle_epi8(
            _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src))), shuf);
        const __m512i d1 = _mm512_shuffle_epi8(
            _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 16))), shuf);
        a0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_and_si512(d0, lo4)), _mm512_loadu_ps(xg + k), a0);
        a1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(d0, 4)), _mm512_loadu_ps(xg + k + 16), a1);
        a2 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_and_si512(d1, lo4)), _mm512_loadu_ps(xg + k + 32), a2);
        a3 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(d1, 4)), _mm512_loadu_ps(xg + k + 48), a3);
      }
      if (k < n32) {  // one 32-block left
        const __m512i d0 = _mm512_shuffle_epi8(
            _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src))), shuf);
        a0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_and_si512(d0, lo4)), _mm512_loadu_ps(xg + k), a0);
        a1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(d0, 4)), _mm512_loadu_ps(xg + k + 16), a1);
      }
      const float s = sz[static_cast<size_t>(g)], z = sz[static_cast<size_t>(G + g)];
      const __m512 acc = _mm512_sub_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                                       _mm512_mul_ps(_mm512_set1_ps(z), _mm512_loadu_ps(xs16.data() + 16 * g)));
      yacc = _mm512_fmadd_ps(_mm512_set1_ps(s), acc, yacc);
      for (int64_t c = c0 + n32; c < c1; ++c)  // only the last group of a row whose cols % 32 != 0
        ytail += qmath::weight_value(qmath::unpack_code(codes, c, 4), s, z) * x[c];
    }
    y[r] = _mm512_reduce_add_ps(yacc) + ytail;
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
  if (q.bits == 4 && q.group_size % 32 == 0 && simd_avx512_available()) {
    thread_local std::vector<float> xp;
    xp.resize(static_cast<size_t>(q.cols));
    permute_x_nibbles32(x, q.cols, xp.data());
    return gemv_rows_nibble512(q, x, xp.data(), y, r0, r1);
  }
  if (q.bits == 4 && q.group_size % 16 == 0) {
    thread_local std::vector<float> xp;  // x in nibble order; each worker permutes its own copy (4 KiB-ish)
    xp.resize(static_cast<size_t>(q.cols));
    permute_x_nibbles(x, q.cols, xp.data());
    group_lane_sums16(q, xp.data(), xs8.data());
    return gemv_rows_nibble(q, x, xp.data(), xs8.data(), y, r0, r1);
  }
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
