// Scalar reference of the hidden-state codec: the definition the vectorized CPU path and the CUDA kernels are
// tested against, written for clarity, one token row at a time, in the order the math happens:
//   1. TS threshold of the row (sigma mode; fixed and percentile thresholds are resolved per block),
//   2. outliers out (exact fp16 + column), dense row with outliers zeroed,
//   3. dense statistics (min, max, variance in the canonical lane order of codec_stats.hpp),
//   4. TAB-Q bit choice and the fp16 row header, 5. codes, packed little-endian.
#include <cstring>
#include <vector>

#include "kernels/codec_internal.hpp"

namespace splitsim::codec_detail {

namespace {

// Sigma-mode threshold of one row (codec_stats.hpp): tau = |mu| + k sigma over the values within the fp16 range,
// recomputed over the values within the previous tau (sigma_iterations times in all). m gets the last moments.
float sigma_row_tau(const float* x, int64_t d, const ResolvedCodec& r, RowMoments& m) {
  float tau = INFINITY, pivot = 0.0f;
  for (int it = 0; it < r.sigma_iterations; ++it) {
    const float lim = stat_limit(tau);
    int64_t n = 0;
    float s[kLanes] = {}, q[kLanes] = {};
    for (int64_t i = 0; i < d; ++i) {
      const bool sel = std::fabs(x[i]) <= lim;
      n += sel;
      lane_add(s, q, static_cast<int>(i % kLanes), sel ? qmath::sub_rn(x[i], pivot) : 0.0f);
    }
    m = row_moments(n, pivot, combine_lanes(s), combine_lanes(q));
    tau = sigma_tau(m, r.sigma_k);
    pivot = next_pivot(m);
  }
  return tau;
}

void encode_row(const float* x, int64_t d, const ResolvedCodec& r, RowOut& row, uint8_t* codes, uint8_t* outl) {
  const bool ts = r.codec == WireCodec::ts_tabq && r.ts != TsMode::none;
  RowMoments sm;  // last sigma iteration: its mean is the dense pass's pivot
  const float tau = !ts ? INFINITY : (r.ts == TsMode::sigma ? sigma_row_tau(x, d, r, sm) : r.tau);

  std::vector<float> dense(static_cast<size_t>(d));  // the row with outliers zeroed
  row.n_out = 0;
  for (int64_t i = 0; i < d; ++i) {
    const float v = x[i];
    if (ts && (!qmath::is_finite(v) || std::fabs(v) > tau)) {
      write_outlier(outl + kOutlierBytes * row.n_out, OutlierEntry{static_cast<uint16_t>(i), qmath::float_to_half_sat(v)});
      ++row.n_out;
      dense[static_cast<size_t>(i)] = 0.0f;
    } else {
      dense[static_cast<size_t>(i)] = qmath::dense_sanitize(v);
    }
  }

  float lo = dense[0], hi = dense[0];
  for (int64_t i = 0; i < d; ++i) {
    const float v = dense[static_cast<size_t>(i)];
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  const double range = static_cast<double>(hi) - static_cast<double>(lo);
  int bits;
  if (r.codec == WireCodec::uniform) {
    bits = range > 0 ? r.uniform_bits : 0;
  } else {
    const float pivot = r.ts == TsMode::sigma ? next_pivot(sm) : 0.0f;
    float s[kLanes] = {}, q[kLanes] = {};
    for (int64_t i = 0; i < d; ++i)
      lane_add(s, q, static_cast<int>(i % kLanes), qmath::sub_rn(dense[static_cast<size_t>(i)], pivot));
    const RowMoments dm = row_moments(d, pivot, combine_lanes(s), combine_lanes(q));
    bits = qmath::tabq_choose_bits(range, dm.var, r.eps, r.allowed, r.n_allowed);
  }
  const qmath::ActHeader h = qmath::act_header(lo, hi, bits);
  row.set_header(bits, h);
  if (bits == 0) return;
  const float mn = qmath::half_to_float(h.min_h), inv = qmath::inv_or_zero(qmath::half_to_float(h.delta_h));
  const uint32_t max_code = (1u << bits) - 1u;
  std::memset(codes, 0, static_cast<size_t>(packed_code_bytes(d, bits)));
  for (int64_t i = 0; i < d; ++i)
    qmath::pack_code(codes, i, bits, qmath::act_code(dense[static_cast<size_t>(i)], mn, inv, max_code));
}

}  // namespace

void encode_rows_reference(const float* x, int64_t t0, int64_t t1, const ResolvedCodec& r, EncodeWork& w) {
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
      const OutlierEntry e = read_outlier(o);
      y[e.column] = qmath::half_to_float(e.value_h);
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
