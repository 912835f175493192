// Scalar reference of the hidden-state codec: the definition the vectorized CPU path and the CUDA kernels are
// tested against, written for clarity, one token row at a time, in the order the math happens:
//   1. TS threshold of the row (sigma mode; fixed and percentile thresholds are resolved per block),
//   2. outliers out (exact fp16 + column), dense row with outliers zeroed,
//   3. dense statistics (min, max, variance in the canonical lane order of codec_internal.hpp),
//   4. TAB-Q bit choice and the fp16 row header, 5. codes, packed little-endian.
#include <cstring>
#include <vector>

#include "kernels/codec_internal.hpp"

namespace splitsim::codec_detail {

namespace {

using qmath::is_finite;

// Sigma-mode threshold of one row: tau = |mu| + k sigma over the finite values, recomputed over the values
// within the previous tau (sigma_iterations times in all).
float sigma_row_tau(const float* x, int64_t d, const Resolved& r) {
  float tau = INFINITY;
  for (int it = 0; it < r.sigma_iterations; ++it) {
    int64_t n = 0;  // an exact count: no canonical order needed
    double s[kLanes] = {}, q[kLanes] = {};
    for (int64_t i = 0; i < d; ++i) {
      const float v = x[i];
      if (!is_finite(v) || std::fabs(v) > tau) continue;
      const double dv = v;
      ++n;
      s[i % kLanes] += dv;
      q[i % kLanes] += dv * dv;  // exact: a float squared fits in a double
    }
    tau = float_round_down(sigma_tau(static_cast<double>(n), combine_lanes(s), combine_lanes(q), r.sigma_k));
  }
  return tau;
}

void encode_row(const float* x, int64_t d, const Resolved& r, RowOut& row, uint8_t* codes, uint8_t* outl) {
  const bool ts = r.codec == WireCodec::ts_tabq && r.ts != TsMode::none;
  const float tau = !ts ? INFINITY : (r.ts == TsMode::sigma ? sigma_row_tau(x, d, r) : r.tau);

  std::vector<float> dense(static_cast<size_t>(d));  // the row with outliers zeroed
  row.n_out = 0;
  for (int64_t i = 0; i < d; ++i) {
    const float v = x[i];
    if (ts && (!is_finite(v) || std::fabs(v) > tau)) {
      const uint16_t col = static_cast<uint16_t>(i), val = qmath::float_to_half_sat(v);
      std::memcpy(outl + 4 * row.n_out, &col, 2);
      std::memcpy(outl + 4 * row.n_out + 2, &val, 2);
      ++row.n_out;
      dense[static_cast<size_t>(i)] = 0.0f;
    } else {
      dense[static_cast<size_t>(i)] = qmath::dense_sanitize(v);
    }
  }

  float lo = dense[0], hi = dense[0];
  double s[kLanes] = {}, q[kLanes] = {};
  for (int64_t i = 0; i < d; ++i) {
    const float v = dense[static_cast<size_t>(i)];
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    s[i % kLanes] += static_cast<double>(v);
    q[i % kLanes] += static_cast<double>(v) * static_cast<double>(v);
  }
  const double range = static_cast<double>(hi) - static_cast<double>(lo);
  int bits;
  if (r.codec == WireCodec::uniform) {
    bits = range > 0 ? r.uniform_bits : 0;
  } else {
    const double var = row_variance(static_cast<double>(d), combine_lanes(s), combine_lanes(q));
    bits = qmath::tabq_choose_bits(range, var, r.eps, r.allowed, r.n_allowed);
  }
  const qmath::ActHeader h = qmath::act_header(lo, hi, bits);
  row.bits = static_cast<uint8_t>(bits);
  row.min_h = h.min_h;
  row.delta_h = h.delta_h;
  if (bits == 0) return;
  const float mn = qmath::half_to_float(h.min_h), inv = qmath::inv_or_zero(qmath::half_to_float(h.delta_h));
  const uint32_t max_code = (1u << bits) - 1u;
  std::memset(codes, 0, static_cast<size_t>(packed_code_bytes(d, bits)));
  for (int64_t i = 0; i < d; ++i)
    qmath::pack_code(codes, i, bits, qmath::act_code(dense[static_cast<size_t>(i)], mn, inv, max_code));
}

}  // namespace

void encode_rows_reference(const float* x, int64_t t0, int64_t t1, const Resolved& r, EncodeWork& w) {
  for (int64_t t = t0; t < t1; ++t)
    encode_row(x + t * w.d, w.d, r, w.rows[static_cast<size_t>(t)], w.codes.data() + t * w.row_code_cap,
               w.outliers.empty() ? nullptr : w.outliers.data() + t * w.d * kOutlierBytes);
}

void decode_rows_reference(std::span<const uint8_t> wire, const Layout& L, int64_t t0, int64_t t1, float* out) {
  const int64_t d = L.h.d;
  for (int64_t t = t0; t < t1; ++t) {
    const RowOut& row = L.rows[static_cast<size_t>(t)];
    float* y = out + t * d;
    const float mn = qmath::half_to_float(row.min_h), delta = qmath::half_to_float(row.delta_h);
    const uint8_t* codes = wire.data() + L.code_off[static_cast<size_t>(t)];
    for (int64_t i = 0; i < d; ++i)
      y[i] = row.bits == 0 ? mn : qmath::act_value(qmath::unpack_code(codes, i, row.bits), mn, delta);
    const uint8_t* o = wire.data() + L.out_off[static_cast<size_t>(t)];
    for (int64_t k = 0; k < row.n_out; ++k, o += kOutlierBytes) {
      uint16_t col, val;
      std::memcpy(&col, o, 2);
      std::memcpy(&val, o + 2, 2);
      y[col] = qmath::half_to_float(val);
    }
  }
}

void dense_encode_reference(const float* x, int64_t n, WireCodec c, uint8_t* dst) {
  if (c == WireCodec::fp32) {
    std::memcpy(dst, x, static_cast<size_t>(n) * 4);
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = qmath::float_to_half(x[i]);
    std::memcpy(dst + 2 * i, &h, 2);
  }
}

void dense_decode_reference(const uint8_t* src, int64_t n, WireCodec c, float* out) {
  if (c == WireCodec::fp32) {
    std::memcpy(out, src, static_cast<size_t>(n) * 4);
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    out[i] = qmath::half_to_float(h);
  }
}

}  // namespace splitsim::codec_detail
