// Internal to kernels/: the row statistics of the TS + TAB-Q encoder, defined once for every backend (scalar
// reference, AVX2, CUDA). Plain C++17 with SPLITSIM_HD functions, so the CUDA kernels include it too (CUDA 11.4
// and later; no C++20 headers here).
//
// A statistics pass over a token row x[0, d) selects some values (see below), subtracts a pivot p and sums in
// float, in a canonical order that makes every backend produce the same bits:
//   element i goes to lane i % 16; lane l accumulates, in index order, s_l += v - p and q_l += (v - p)^2 (the
//   product rounded on its own, then the sum: no fused multiply-add); a value that is not selected adds +0 to
//   both; then c_k = lane_k + lane_{k+8} (k < 8), d_k = c_k + c_{k+4} (k < 4), total = (d0 + d2) + (d1 + d3).
// Mean and variance follow in double: mean = p + S / n, var = max(0, Q / n - (S / n)^2).
// Why float with a pivot (and not the double sums of the first version): a double pass cost two conversions
// and twice the adds per 8 values, which made the three statistics passes of sigma mode the bulk of the encode.
// The pivot keeps the cancellation of Q/n - (S/n)^2 small: the second sigma iteration and the dense pass pivot
// on the mean of the previous pass, so they sum deviations of size sigma, not mu. Every value entering a pass is
// within the fp16 range, so |v - p| <= 131008 and the float sums cannot overflow.
//
// The passes:
//   sigma iteration j (j = 1 .. sigma_iterations): values with |x| <= min(tau_{j-1}, 65504) (tau_0 = Inf; NaN
//     and +-Inf never qualify); pivot 0 for j = 1, then float(mean_{j-1}); tau_j = |mean_j| + k sqrt(var_j),
//     rounded down to a float, Inf when no value qualifies. Values beyond the fp16 range stay out of the
//     statistics: the dense part cannot carry them (it is clamped to +-65504), so they are outliers whenever
//     the rest of the row gives a finite tau, and a single 1e30 cannot blow sigma up for its whole row.
//   dense pass (TAB-Q variance): all d values of the dense row (outliers zeroed, sanitized), pivot
//     float(mean of the last sigma iteration) in sigma mode, 0 otherwise. The uniform codec skips it.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/quant_math.hpp"

namespace splitsim::codec_detail {

constexpr int kLanes = 16;

// What an encoder produces per token row before the block is assembled.
struct RowOut {
  uint8_t bits = 0;
  uint16_t min_h = 0;
  uint16_t delta_h = 0;
  uint16_t n_out = 0;
  // The row's quantization header for a bit-width and its fp16 min and step (qmath::act_header).
  SPLITSIM_HD void set_header(int b, const qmath::ActHeader& h) {
    bits = static_cast<uint8_t>(b);
    min_h = h.min_h;
    delta_h = h.delta_h;
  }
};

SPLITSIM_HD float combine_lanes(const float* lane) {
  float c[8];
  for (int k = 0; k < 8; ++k) c[k] = qmath::add_rn(lane[k], lane[k + 8]);
  const float d0 = qmath::add_rn(c[0], c[4]), d1 = qmath::add_rn(c[1], c[5]);
  const float d2 = qmath::add_rn(c[2], c[6]), d3 = qmath::add_rn(c[3], c[7]);
  return qmath::add_rn(qmath::add_rn(d0, d2), qmath::add_rn(d1, d3));
}

// One value into lane l; dv = v - p for a selected value, 0 otherwise.
SPLITSIM_HD void lane_add(float* s, float* q, int l, float dv) {
  s[l] = qmath::add_rn(s[l], dv);
  q[l] = qmath::add_rn(q[l], qmath::mul_rn(dv, dv));
}

struct RowMoments {
  int64_t n = 0;
  double mean = 0, var = 0;
};
SPLITSIM_HD RowMoments row_moments(int64_t n, float pivot, float sum, float sumsq) {
  RowMoments m;
  m.n = n;
  if (n <= 0) return m;
  const double dn = static_cast<double>(n), ms = static_cast<double>(sum) / dn;
  m.mean = static_cast<double>(pivot) + ms;
  const double var = static_cast<double>(sumsq) / dn - ms * ms;
  m.var = var > 0 ? var : 0;
  return m;
}

// Pivot of the pass after one with moments m.
SPLITSIM_HD float next_pivot(const RowMoments& m) { return m.n > 0 ? static_cast<float>(m.mean) : 0.0f; }

// For float x and double t: x > t  <=>  x > round_down_to_float(t). Lets kernels compare in float.
SPLITSIM_HD float round_down_to_float(double t) {
  if (t != t) return -INFINITY;
  float f = static_cast<float>(t);
  if (static_cast<double>(f) > t) f = nextafterf(f, -INFINITY);
  return f;
}

SPLITSIM_HD float sigma_tau(const RowMoments& m, double k) {
  if (m.n <= 0) return INFINITY;
  return round_down_to_float((m.mean < 0 ? -m.mean : m.mean) + k * sqrt(m.var));
}

// A sigma iteration selects |x| <= stat_limit(tau): NaN fails every comparison and Inf exceeds the limit.
SPLITSIM_HD float stat_limit(float tau) { return tau < qmath::kHalfMax ? tau : qmath::kHalfMax; }

}  // namespace splitsim::codec_detail
