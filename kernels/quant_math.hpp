// Per-element math shared by every backend (scalar reference, vectorized CPU, CUDA): fp16 conversion, the
// weight quantizer of OPSC and the activation quantizer of TAB-Q. The CPU tests exercise exactly these
// functions, and the CUDA kernels call the same ones, so the backends agree bit for bit where the math allows.
//
// Rules that keep the backends bit-exact:
//   - fp16 conversion is our own integer implementation (round to nearest, ties to even), not a compiler or
//     hardware intrinsic whose NaN or subnormal behaviour could differ; it matches x86 F16C (vcvtps2ph) bit for
//     bit, which the vectorized path uses for the fp16 codec.
//   - No fused multiply-add where a product is rounded on its own: device code uses __fmul_rn / __fadd_rn
//     (which nvcc never contracts), host code is compiled with -ffp-contract=off.
//   - Rounding to an integer code is rintf (ties to even) on every backend.
// Plain C++17 in device code: builds with CUDA 11.4 (Jetson Xavier NX) as well as CUDA 12/13.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/hd.hpp"

namespace splitsim::qmath {

constexpr float kHalfMax = 65504.0f;       // largest finite fp16
constexpr uint16_t kHalfQuietNan = 0x7E00;

SPLITSIM_HD uint32_t float_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}

SPLITSIM_HD float bits_float(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}

// IEEE binary32 -> binary16, round to nearest even; overflow gives +-Inf; NaN stays NaN (quieted, top payload
// bits kept, as F16C does).
SPLITSIM_HD uint16_t float_to_half(float f) {
  const uint32_t x = float_bits(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t exp = (x >> 23) & 0xFFu;
  uint32_t mant = x & 0x7FFFFFu;
  if (exp == 0xFF) return static_cast<uint16_t>(sign | 0x7C00u | (mant ? (0x200u | (mant >> 13)) : 0u));
  const int e = static_cast<int>(exp) - 127 + 15;  // biased half exponent
  if (e >= 31) return static_cast<uint16_t>(sign | 0x7C00u);
  if (e <= 0) {
    // Subnormal half (or zero): shift the full 24-bit significand, round to nearest even.
    if (e < -10) return static_cast<uint16_t>(sign);
    mant |= 0x800000u;
    const int shift = 14 - e;  // 14..24
    uint32_t h = mant >> shift;
    const uint32_t rem = mant & ((1u << shift) - 1u);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1u))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = (static_cast<uint32_t>(e) << 10) | (mant >> 13);
  const uint32_t rem = mant & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;  // may carry into the exponent, up to Inf: correct
  return static_cast<uint16_t>(sign | h);
}

// binary16 -> binary32, exact.
SPLITSIM_HD float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  if (exp == 0x1F) return bits_float(sign | 0x7F800000u | (mant << 13));
  if (exp == 0) {
    if (mant == 0) return bits_float(sign);
    int e = -1;
    do {  // normalize the subnormal
      mant <<= 1;
      ++e;
    } while (!(mant & 0x400u));
    return bits_float(sign | (static_cast<uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3FFu) << 13));
  }
  return bits_float(sign | ((exp + 127 - 15) << 23) | (mant << 13));
}

// Saturating variant for values that must stay finite (outliers, headers): finite inputs beyond +-65504 become
// +-65504 instead of +-Inf; NaN and Inf themselves are kept.
SPLITSIM_HD uint16_t float_to_half_sat(float f) {
  if (f > kHalfMax && f <= 3.4028235e38f) return 0x7BFF;
  if (f < -kHalfMax && f >= -3.4028235e38f) return 0xFBFF;
  return float_to_half(f);
}

// Next fp16 toward +Inf / -Inf of a finite, non-negative-zero-normalized half (used for directed rounding).
SPLITSIM_HD uint16_t half_next_up(uint16_t h) {
  if (h == 0x8000u) h = 0;
  if (h & 0x8000u) return static_cast<uint16_t>(h - 1);
  return static_cast<uint16_t>(h + 1);
}
SPLITSIM_HD uint16_t half_next_down(uint16_t h) {
  if (h == 0) return 0x8001u;
  if (h & 0x8000u) return static_cast<uint16_t>(h + 1);
  return static_cast<uint16_t>(h - 1);
}

// Smallest fp16 >= v and largest fp16 <= v, for finite v within the fp16 range (callers clamp first).
SPLITSIM_HD uint16_t half_round_up(double v) {
  uint16_t h = float_to_half(static_cast<float>(v));
  if (static_cast<double>(half_to_float(h)) < v) h = half_next_up(h);
  return h;
}
SPLITSIM_HD uint16_t half_round_down(double v) {
  uint16_t h = float_to_half(static_cast<float>(v));
  if (static_cast<double>(half_to_float(h)) > v) h = half_next_down(h);
  return h;
}

SPLITSIM_HD float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
SPLITSIM_HD float add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}
SPLITSIM_HD float sub_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fsub_rn(a, b);
#else
  return a - b;
#endif
}

SPLITSIM_HD bool is_finite(float x) { return (float_bits(x) & 0x7F800000u) != 0x7F800000u; }
SPLITSIM_HD bool is_nan(float x) { return (float_bits(x) & 0x7FFFFFFFu) > 0x7F800000u; }

// ---------------------------------------------------------------------------------------------------------
// Activation quantizer (uniform and TAB-Q dense part). A token row has a header (bits, fp16 min, fp16 delta);
// code q in [0, 2^bits - 1] decodes to min + q * delta.

// The dense value that is quantized: NaN counts as 0, everything else is clamped to the fp16 range (the header
// is fp16, so a row cannot span more), and -0 becomes +0 (so that the row minimum has one bit pattern whatever
// order a backend scans in). In TS mode non-finite values never reach the dense part.
SPLITSIM_HD float dense_sanitize(float x) {
  if (is_nan(x)) return 0.0f;
  return add_rn(x > kHalfMax ? kHalfMax : (x < -kHalfMax ? -kHalfMax : x), 0.0f);
}

// Code of a sanitized value; inv_delta = 1.0f / delta computed once per row (0 when delta is 0).
SPLITSIM_HD uint32_t act_code(float xs, float min, float inv_delta, uint32_t max_code) {
  float v = rintf(mul_rn(sub_rn(xs, min), inv_delta));
  v = v < 0.0f ? 0.0f : v;
  const float m = static_cast<float>(max_code);
  v = v > m ? m : v;
  return static_cast<uint32_t>(v);
}

SPLITSIM_HD float act_value(uint32_t q, float min, float delta) {
  return add_rn(min, mul_rn(static_cast<float>(q), delta));
}

// Row header from the row's sanitized min and max: fp16 min rounded down, fp16 delta rounded up so that the grid
// min' + [0, 2^bits-1] * delta' covers [min, max]. Every value is then within delta'/2 of its code's value.
struct ActHeader {
  uint16_t min_h = 0;
  uint16_t delta_h = 0;
};
SPLITSIM_HD ActHeader act_header(float lo, float hi, int bits) {
  ActHeader h;
  h.min_h = half_round_down(static_cast<double>(lo));
  if (bits == 0) return h;
  const double span = static_cast<double>(hi) - static_cast<double>(half_to_float(h.min_h));
  const double levels = static_cast<double>((1u << bits) - 1u);
  h.delta_h = span > 0 ? half_round_up(span / levels) : 0;
  return h;
}

SPLITSIM_HD float inv_or_zero(float delta) { return delta > 0.0f ? 1.0f / delta : 0.0f; }

// TAB-Q bit choice: the smallest allowed b with (r / (2^b - 1))^2 / 12 <= eps * var (r = max - min of the dense
// row); the largest allowed when none meets the budget; 0 for a constant row. allowed[] is sorted ascending.
SPLITSIM_HD int tabq_choose_bits(double range, double var, double eps, const int* allowed, int n_allowed) {
  if (!(range > 0)) return 0;
  for (int i = 0; i < n_allowed; ++i) {
    const double delta = range / static_cast<double>((1u << allowed[i]) - 1u);
    if (delta * delta / 12.0 <= eps * var) return allowed[i];
  }
  return allowed[n_allowed - 1];
}

// ---------------------------------------------------------------------------------------------------------
// OPSC weight quantizer (group-wise asymmetric round-to-nearest). The group range is widened to include 0 so
// the zero point is an integer code; scale is rounded up to fp16 so the grid covers the range.
struct WeightGroupHeader {
  uint16_t scale_h = 0;
  uint16_t zero_h = 0;
};
SPLITSIM_HD WeightGroupHeader weight_group_header(float lo, float hi, int bits) {
  const float mn = lo < 0.0f ? lo : 0.0f;
  const float mx = hi > 0.0f ? hi : 0.0f;
  const double levels = static_cast<double>((1u << bits) - 1u);
  WeightGroupHeader g;
  const double span = static_cast<double>(mx) - static_cast<double>(mn);
  g.scale_h = span > 0 ? half_round_up(span / levels) : 0x3C00;  // 1.0 for an all-zero group
  const float scale = half_to_float(g.scale_h);
  float z = rintf(-mn / scale);
  z = z < 0.0f ? 0.0f : (z > static_cast<float>(levels) ? static_cast<float>(levels) : z);
  g.zero_h = float_to_half(z);
  return g;
}

SPLITSIM_HD uint32_t weight_code(float w, float inv_scale, float zero, uint32_t max_code) {
  float v = add_rn(rintf(mul_rn(w, inv_scale)), zero);
  v = v < 0.0f ? 0.0f : v;
  const float m = static_cast<float>(max_code);
  v = v > m ? m : v;
  return static_cast<uint32_t>(v);
}

SPLITSIM_HD float weight_value(uint32_t q, float scale, float zero) {
  return mul_rn(sub_rn(static_cast<float>(q), zero), scale);
}

// ---------------------------------------------------------------------------------------------------------
// Bit packing: codes form a little-endian bit stream (code i occupies bits [i*b, (i+1)*b) of its row), each row
// starting on a byte boundary. Byte count of n codes is (n*b + 7) / 8.
SPLITSIM_HD uint32_t unpack_code(const uint8_t* row, int64_t i, int bits) {
  const int64_t bit = i * bits;
  const int64_t byte = bit >> 3;
  const int shift = static_cast<int>(bit & 7);
  const int need = (shift + bits + 7) >> 3;  // bytes touched, <= 3 for bits <= 16
  uint32_t v = 0;
  for (int k = 0; k < need; ++k) v |= static_cast<uint32_t>(row[byte + k]) << (8 * k);
  return (v >> shift) & ((1u << bits) - 1u);
}

// ORs a code into a zero-initialized row.
SPLITSIM_HD void pack_code(uint8_t* row, int64_t i, int bits, uint32_t q) {
  const int64_t bit = i * bits;
  const int64_t byte = bit >> 3;
  const int shift = static_cast<int>(bit & 7);
  const uint32_t v = q << shift;
  const int need = (shift + bits + 7) >> 3;
  for (int k = 0; k < need; ++k) row[byte + k] |= static_cast<uint8_t>(v >> (8 * k));
}

}  // namespace splitsim::qmath
