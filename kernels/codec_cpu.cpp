// Vectorized CPU path of the hidden-state codec: the same math as codec_ref.cpp, 8 lanes at a time with AVX2,
// chosen at run time (the build does not assume -march=native), with the scalar reference as the fallback.
//
// Per token row (d floats, in L1 while it is worked on):
//   sigma pass(es)  float lane sums in the canonical 16-lane order of codec_stats.hpp, so tau_t equals the
//                   reference's bit for bit;
//   split pass      |x| > tau or non-finite -> outlier (rare; found with a movemask, recorded in column order),
//                   dense row with outliers zeroed, min/max, lane sums for the variance;
//   code pass       rint((x - min) / delta) clamped, eight codes packed into `bits` bytes with variable shifts.
// Decode unpacks eight codes with variable shifts and dequantizes with the same rounded multiply and add as the
// reference, so decoded values are identical too.
#include <immintrin.h>

#include <cstring>
#include <vector>

#include "kernels/codec_internal.hpp"
#include "kernels/simd.hpp"

namespace splitsim::codec_detail {

namespace {

bool have_avx2() { return simd_avx2_available(); }

// Canonical 16-lane float sums of codec_stats.hpp: s0/q0 hold lanes 0-7 (the first 8-block of each 16-block),
// s1/q1 lanes 8-15: two independent add chains per sum.
struct Lanes16 {
  __m256 s0, s1, q0, q1;
};

SPLITSIM_AVX2 inline Lanes16 lanes_zero() {
  return {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
}

// dv = v - p for selected lanes, +0 for the others; into the first (second = false) or second 8-block lanes.
SPLITSIM_AVX2 inline void lanes_add(Lanes16& L, __m256 dv, bool second) {
  __m256& s = second ? L.s1 : L.s0;
  __m256& q = second ? L.q1 : L.q0;
  s = _mm256_add_ps(s, dv);
  q = _mm256_add_ps(q, _mm256_mul_ps(dv, dv));
}

// The vector lanes out, then the scalar tail [i, d) in the same lane order, then the moments.
template <class Value>
SPLITSIM_AVX2 inline RowMoments lanes_finish(const Lanes16& L, int64_t n, float pivot, int64_t i, int64_t d, Value&& value) {
  float s[kLanes], q[kLanes];
  _mm256_storeu_ps(s, L.s0);
  _mm256_storeu_ps(s + 8, L.s1);
  _mm256_storeu_ps(q, L.q0);
  _mm256_storeu_ps(q + 8, L.q1);
  for (; i < d; ++i) {
    float dv;
    n += value(i, dv);
    lane_add(s, q, static_cast<int>(i % kLanes), dv);
  }
  return row_moments(n, pivot, combine_lanes(s), combine_lanes(q));
}

SPLITSIM_AVX2 float sigma_row_tau(const float* x, int64_t d, const ResolvedCodec& r, RowMoments& m) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  float tau = INFINITY, pivot = 0.0f;
  for (int it = 0; it < r.sigma_iterations; ++it) {
    const float lim = stat_limit(tau);
    Lanes16 L = lanes_zero();
    __m256i cnt = _mm256_setzero_si256();  // minus the number of selected values, per lane
    const __m256 lv = _mm256_set1_ps(lim), pv = _mm256_set1_ps(pivot);
    auto step = [&](int64_t i, bool second) SPLITSIM_AVX2 {
      const __m256 v = _mm256_loadu_ps(x + i);
      const __m256 sel = _mm256_cmp_ps(_mm256_and_ps(v, abs_mask), lv, _CMP_LE_OQ);
      cnt = _mm256_add_epi32(cnt, _mm256_castps_si256(sel));
      lanes_add(L, _mm256_and_ps(sel, _mm256_sub_ps(v, pv)), second);
    };
    int64_t i = 0;
    for (; i + 16 <= d; i += 16) {
      step(i, false);
      step(i + 8, true);
    }
    if (i + 8 <= d) {
      step(i, false);
      i += 8;
    }
    int32_t c[8];
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c), cnt);
    int64_t n = 0;
    for (int l = 0; l < 8; ++l) n -= c[l];
    m = lanes_finish(L, n, pivot, i, d, [&](int64_t k, float& dv) {
      const bool sel = std::fabs(x[k]) <= lim;
      dv = sel ? x[k] - pivot : 0.0f;
      return sel;
    });
    tau = sigma_tau(m, r.sigma_k);
    pivot = next_pivot(m);
  }
  return tau;
}

template <int B>
SPLITSIM_AVX2 void pack_row(const float* dense, int64_t d, float mn, float inv, uint8_t* codes) {
  const __m256 vmn = _mm256_set1_ps(mn), vinv = _mm256_set1_ps(inv), zero = _mm256_setzero_ps();
  const __m256 vmax = _mm256_set1_ps(static_cast<float>((1u << B) - 1u));
  const int64_t d8 = d & ~int64_t{7};
  uint8_t* dst = codes;
  for (int64_t i = 0; i < d8; i += 8, dst += B) {
    __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(dense + i), vmn), vinv);
    v = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    v = _mm256_min_ps(_mm256_max_ps(v, zero), vmax);
    simd_put8<B>(dst, _mm256_cvttps_epi32(v));
  }
  if (d8 < d) {
    // Tail: byte-aligned (d8 * B bits is a whole number of bytes); scalar packing ORs into zeroed bytes.
    const int64_t tail_bytes = packed_code_bytes(d, B) - d8 * B / 8;
    std::memset(dst, 0, static_cast<size_t>(tail_bytes));
    for (int64_t i = d8; i < d; ++i) qmath::pack_code(dst, i - d8, B, qmath::act_code(dense[i], mn, inv, (1u << B) - 1u));
  }
}

void pack_row_wide(const float* dense, int64_t d, int bits, float mn, float inv, uint8_t* codes) {
  std::memset(codes, 0, static_cast<size_t>(packed_code_bytes(d, bits)));
  for (int64_t i = 0; i < d; ++i) qmath::pack_code(codes, i, bits, qmath::act_code(dense[i], mn, inv, (1u << bits) - 1u));
}

SPLITSIM_AVX2 void pack_any(const float* dense, int64_t d, int bits, float mn, float inv, uint8_t* codes) {
  switch (bits) {
    case 2: return pack_row<2>(dense, d, mn, inv, codes);
    case 3: return pack_row<3>(dense, d, mn, inv, codes);
    case 4: return pack_row<4>(dense, d, mn, inv, codes);
    case 5: return pack_row<5>(dense, d, mn, inv, codes);
    case 6: return pack_row<6>(dense, d, mn, inv, codes);
    case 7: return pack_row<7>(dense, d, mn, inv, codes);
    case 8: return pack_row<8>(dense, d, mn, inv, codes);
    default: return pack_row_wide(dense, d, bits, mn, inv, codes);
  }
}

SPLITSIM_AVX2 void encode_row_avx2(const float* x, int64_t d, const ResolvedCodec& r, RowOut& row, uint8_t* codes,
                                   uint8_t* outl, float* dense) {
  const bool ts = r.codec == WireCodec::ts_tabq && r.ts != TsMode::none;
  RowMoments sm;  // last sigma iteration: its mean is the dense pass's pivot
  const float tau = !ts ? INFINITY : (r.ts == TsMode::sigma ? sigma_row_tau(x, d, r, sm) : r.tau);
  const bool stats = r.codec != WireCodec::uniform;  // the uniform codec's bits do not depend on the variance
  const float pivot = r.ts == TsMode::sigma ? next_pivot(sm) : 0.0f;
  const __m256 pv = _mm256_set1_ps(pivot);
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
  const __m256 inf = _mm256_set1_ps(INFINITY), tv = _mm256_set1_ps(tau);
  const __m256 hmax = _mm256_set1_ps(qmath::kHalfMax), hmin = _mm256_set1_ps(-qmath::kHalfMax);
  __m256 vlo = _mm256_set1_ps(INFINITY), vhi = _mm256_set1_ps(-INFINITY);
  Lanes16 L = lanes_zero();
  int n_out = 0;
  auto step = [&](int64_t i, bool second) SPLITSIM_AVX2 {
    const __m256 v = _mm256_loadu_ps(x + i), a = _mm256_and_ps(v, abs_mask);
    __m256 keep;  // lanes that stay in the dense part with their value
    if (ts) {
      keep = _mm256_and_ps(_mm256_cmp_ps(a, inf, _CMP_LT_OQ), _mm256_cmp_ps(a, tv, _CMP_LE_OQ));
      int out_bits = ~_mm256_movemask_ps(keep) & 0xFF;
      while (out_bits) {
        const int l = __builtin_ctz(static_cast<unsigned>(out_bits));
        out_bits &= out_bits - 1;
        write_outlier(outl + kOutlierBytes * n_out, OutlierEntry{static_cast<uint16_t>(i + l), qmath::float_to_half_sat(x[i + l])});
        ++n_out;
      }
    } else {
      keep = _mm256_cmp_ps(v, v, _CMP_ORD_Q);  // NaN counts as 0
    }
    // Same as dense_sanitize: clamp to the fp16 range, then + 0 turns -0 into +0.
    const __m256 dv =
        _mm256_add_ps(_mm256_min_ps(_mm256_max_ps(_mm256_and_ps(keep, v), hmin), hmax), _mm256_setzero_ps());
    _mm256_storeu_ps(dense + i, dv);
    vlo = _mm256_min_ps(vlo, dv);
    vhi = _mm256_max_ps(vhi, dv);
    if (stats) lanes_add(L, _mm256_sub_ps(dv, pv), second);
  };
  int64_t i = 0;
  for (; i + 16 <= d; i += 16) {
    step(i, false);
    step(i + 8, true);
  }
  if (i + 8 <= d) {
    step(i, false);
    i += 8;
  }
  float lo_l[8], hi_l[8];
  _mm256_storeu_ps(lo_l, vlo);
  _mm256_storeu_ps(hi_l, vhi);
  float lo = lo_l[0], hi = hi_l[0];
  for (int l = 1; l < 8; ++l) {
    lo = lo_l[l] < lo ? lo_l[l] : lo;
    hi = hi_l[l] > hi ? hi_l[l] : hi;
  }
  const int64_t i_tail = i;
  for (; i < d; ++i) {
    const float v = x[i];
    float dv;
    if (ts && (!qmath::is_finite(v) || std::fabs(v) > tau)) {
      write_outlier(outl + kOutlierBytes * n_out, OutlierEntry{static_cast<uint16_t>(i), qmath::float_to_half_sat(v)});
      ++n_out;
      dv = 0.0f;
    } else {
      dv = qmath::dense_sanitize(v);
    }
    dense[i] = dv;
    lo = dv < lo ? dv : lo;
    hi = dv > hi ? dv : hi;
  }
  row.n_out = static_cast<uint16_t>(n_out);
  const double range = static_cast<double>(hi) - static_cast<double>(lo);
  int bits;
  if (r.codec == WireCodec::uniform) {
    bits = range > 0 ? r.uniform_bits : 0;
  } else {
    const RowMoments dm = lanes_finish(L, d, pivot, i_tail, d, [&](int64_t k, float& dv) {
      dv = dense[k] - pivot;
      return false;  // n is d already
    });
    bits = qmath::tabq_choose_bits(range, dm.var, r.eps, r.allowed, r.n_allowed);
  }
  const qmath::ActHeader h = qmath::act_header(lo, hi, bits);
  row.set_header(bits, h);
  if (bits == 0) return;
  pack_any(dense, d, bits, qmath::half_to_float(h.min_h), qmath::inv_or_zero(qmath::half_to_float(h.delta_h)), codes);
}

template <int B>
SPLITSIM_AVX2 void unpack_row(const uint8_t* codes, int64_t d, float mn, float delta, float* y) {
  const __m256 vmn = _mm256_set1_ps(mn), vd = _mm256_set1_ps(delta);
  const int64_t d8 = d & ~int64_t{7};
  const uint8_t* src = codes;
  for (int64_t i = 0; i < d8; i += 8, src += B) {
    const __m256 qf = _mm256_cvtepi32_ps(simd_get8<B>(src));
    _mm256_storeu_ps(y + i, _mm256_add_ps(vmn, _mm256_mul_ps(qf, vd)));
  }
  for (int64_t i = d8; i < d; ++i) y[i] = qmath::act_value(qmath::unpack_code(src, i - d8, B), mn, delta);
}

SPLITSIM_AVX2 void decode_row_avx2(const uint8_t* codes, int64_t d, int bits, float mn, float delta, float* y) {
  switch (bits) {
    case 0: {
      const __m256 v = _mm256_set1_ps(mn);
      int64_t i = 0;
      for (; i + 8 <= d; i += 8) _mm256_storeu_ps(y + i, v);
      for (; i < d; ++i) y[i] = mn;
      return;
    }
    case 2: return unpack_row<2>(codes, d, mn, delta, y);
    case 3: return unpack_row<3>(codes, d, mn, delta, y);
    case 4: return unpack_row<4>(codes, d, mn, delta, y);
    case 5: return unpack_row<5>(codes, d, mn, delta, y);
    case 6: return unpack_row<6>(codes, d, mn, delta, y);
    case 7: return unpack_row<7>(codes, d, mn, delta, y);
    case 8: return unpack_row<8>(codes, d, mn, delta, y);
    default:
      for (int64_t i = 0; i < d; ++i) y[i] = qmath::act_value(qmath::unpack_code(codes, i, bits), mn, delta);
  }
}

SPLITSIM_AVX2 void f16_encode_avx2(const float* x, int64_t n, uint8_t* dst) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + 2 * i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  for (; i < n; ++i) {
    const uint16_t h = qmath::float_to_half(x[i]);
    std::memcpy(dst + 2 * i, &h, 2);
  }
}

SPLITSIM_AVX2 void f16_decode_avx2(const uint8_t* src, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i))));
  for (; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    out[i] = qmath::half_to_float(h);
  }
}

}  // namespace

void encode_rows_cpu(const float* x, int64_t t0, int64_t t1, const ResolvedCodec& r, EncodeWork& w) {
  if (!have_avx2()) return encode_rows_reference(x, t0, t1, r, w);
  thread_local std::vector<float> dense;  // this worker's row buffer
  if (dense.size() < static_cast<size_t>(w.d)) dense.resize(static_cast<size_t>(w.d));
  for (int64_t t = t0; t < t1; ++t)
    encode_row_avx2(x + t * w.d, w.d, r, w.rows[static_cast<size_t>(t)], w.codes.data() + t * w.row_code_cap,
                    w.outliers.empty() ? nullptr : w.outliers.data() + t * w.d * kOutlierBytes, dense.data());
}

void decode_rows_cpu(std::span<const uint8_t> wire, const Layout& L, int64_t t0, int64_t t1, float* out) {
  if (!have_avx2()) return decode_rows_reference(wire, L, t0, t1, out);
  const int64_t d = L.h.d;
  for (int64_t t = t0; t < t1; ++t) {
    const RowOut& row = L.rows[static_cast<size_t>(t)];
    float* y = out + t * d;
    decode_row_avx2(wire.data() + L.code_off[static_cast<size_t>(t)], d, row.bits, qmath::half_to_float(row.min_h),
                    qmath::half_to_float(row.delta_h), y);
    const uint8_t* o = wire.data() + L.out_off[static_cast<size_t>(t)];
    for (int64_t k = 0; k < row.n_out; ++k, o += kOutlierBytes) {
      const OutlierEntry e = read_outlier(o);
      y[e.column] = qmath::half_to_float(e.value_h);
    }
  }
}

void dense_encode_cpu(const float* x, int64_t n, WireCodec c, uint8_t* dst) {
  if (c == WireCodec::fp16 && have_avx2()) return f16_encode_avx2(x, n, dst);
  dense_encode_reference(x, n, c, dst);
}

void dense_decode_cpu(const uint8_t* src, int64_t n, WireCodec c, float* out) {
  if (c == WireCodec::fp16 && have_avx2()) return f16_decode_avx2(src, n, out);
  dense_decode_reference(src, n, c, out);
}

}  // namespace splitsim::codec_detail
