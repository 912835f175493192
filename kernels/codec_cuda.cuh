// Device code of the CUDA codec: one thread block per token row, computing exactly what codec_ref.cpp computes,
// with the same per-element math (quant_math.hpp) and the same row statistics (codec_stats.hpp), so the bytes
// equal the CPU reference's bit for bit. How each step stays deterministic:
//   statistics   16 threads, one per canonical lane, each summing its lane in index order (i = l, l + 16, ...);
//                every thread then combines the 16 lanes itself, in the canonical tree, and derives tau and the
//                moments in double: the order is the reference's, not a tree of whatever threads finish first.
//   min / max    exact in any order (no NaN reaches the dense part and -0 is +0 there): a warp-shuffle tree.
//   outliers     in column order: tiles of blockDim columns, a ballot per warp and the warps' counts in order.
//   codes        thread j packs codes 8j .. 8j+7 into bytes [j b, j b + b) (eight codes end on a byte boundary),
//                so threads never share a byte; the < 8 codes past the last whole group go to one thread.
// Decode: each thread writes its columns, then (after a barrier) the outliers overwrite theirs.
// Plain CUDA C++17, no CUDA-12-only features and no cub (cub::Max() is gone in CUDA 13): builds with CUDA 11.4
// (Jetson Xavier NX, -DCMAKE_CUDA_ARCHITECTURES=72) through 13. Built with --fmad=false (kernels/CMakeLists.txt).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/codec_stats.hpp"
#include "kernels/cuda_launch.hpp"
#include "kernels/quant_math.hpp"

namespace splitsim::codec_cuda {

using codec_detail::RowMoments;
using codec_detail::RowOut;
using cuda_launch::CodecRowParams;

constexpr int kBlock = 256;  // threads per row block: 8 warps
constexpr int kWarps = kBlock / 32;

// The dense value of x and whether it is an outlier (codec_ref.cpp's split).
__device__ __forceinline__ float dense_value(float v, bool ts, float tau, bool& outlier) {
  outlier = ts && (!qmath::is_finite(v) || fabsf(v) > tau);
  return outlier ? 0.0f : qmath::dense_sanitize(v);
}

// Lane l of a statistics pass over row x (threads 0..15 call this, one lane each). dense: the dense row
// (all values, n = d) rather than a sigma iteration (values with |x| <= lim).
__device__ __forceinline__ void lane_pass(const float* x, int64_t d, int l, bool dense, bool ts, float tau, float lim,
                                          float pivot, float* lane_s, float* lane_q, int* lane_n) {
  float s = 0.0f, q = 0.0f;
  int n = 0;
#pragma unroll 4
  for (int64_t i = l; i < d; i += codec_detail::kLanes) {
    const float v = x[i];
    float dv;
    if (dense) {
      bool out;
      dv = qmath::sub_rn(dense_value(v, ts, tau, out), pivot);
    } else {
      const bool sel = fabsf(v) <= lim;
      n += sel;
      dv = sel ? qmath::sub_rn(v, pivot) : 0.0f;
    }
    s = qmath::add_rn(s, dv);
    q = qmath::add_rn(q, qmath::mul_rn(dv, dv));
  }
  lane_s[l] = s;
  lane_q[l] = q;
  lane_n[l] = n;
}

// Runs a pass and returns its moments to every thread of the block.
__device__ RowMoments block_pass(const float* x, int64_t d, bool dense, bool ts, float tau, float lim, float pivot) {
  __shared__ float lane_s[codec_detail::kLanes], lane_q[codec_detail::kLanes];
  __shared__ int lane_n[codec_detail::kLanes];
  if (threadIdx.x < codec_detail::kLanes)
    lane_pass(x, d, static_cast<int>(threadIdx.x), dense, ts, tau, lim, pivot, lane_s, lane_q, lane_n);
  __syncthreads();
  int64_t n = 0;
  for (int l = 0; l < codec_detail::kLanes; ++l) n += lane_n[l];
  const RowMoments m =
      codec_detail::row_moments(dense ? d : n, pivot, codec_detail::combine_lanes(lane_s), codec_detail::combine_lanes(lane_q));
  __syncthreads();  // every thread has read the lanes before the next pass overwrites them
  return m;
}

__device__ __forceinline__ float warp_min(float v) {
  for (int o = 16; o > 0; o >>= 1) {
    const float w = __shfl_down_sync(0xFFFFFFFFu, v, o);
    v = w < v ? w : v;
  }
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) {
    const float w = __shfl_down_sync(0xFFFFFFFFu, v, o);
    v = w > v ? w : v;
  }
  return v;
}

// One block per token row t = blockIdx.x; blockDim.x == kBlock.
__global__ void encode_rows_kernel(const float* __restrict__ x_all, int64_t d, CodecRowParams p, int64_t code_cap,
                                   RowOut* __restrict__ rows, uint8_t* __restrict__ codes_all,
                                   uint8_t* __restrict__ outl_all) {
  const int64_t t = blockIdx.x;
  const float* x = x_all + t * d;
  const int tid = static_cast<int>(threadIdx.x), lane = tid & 31, warp = tid >> 5;
  __shared__ int warp_cnt[kWarps];
  __shared__ float warp_lo[kWarps], warp_hi[kWarps];

  // 1. TS threshold.
  float tau = p.ts ? p.tau : INFINITY;
  RowMoments sm;
  if (p.ts && p.sigma) {
    float lim_tau = INFINITY, pivot = 0.0f;
    for (int it = 0; it < p.sigma_iterations; ++it) {
      sm = block_pass(x, d, false, false, 0.0f, codec_detail::stat_limit(lim_tau), pivot);
      lim_tau = codec_detail::sigma_tau(sm, p.sigma_k);
      pivot = codec_detail::next_pivot(sm);
    }
    tau = lim_tau;
  }

  // 2. Outliers out, in column order; min and max of the dense row.
  float lo = INFINITY, hi = -INFINITY;
  int n_out = 0;  // the same in every thread
  uint8_t* outl = outl_all ? outl_all + t * d * 4 : nullptr;
  for (int64_t base = 0; base < d; base += kBlock) {
    const int64_t i = base + tid;
    bool out = false;
    if (i < d) {
      const float dv = dense_value(x[i], p.ts, tau, out);
      lo = dv < lo ? dv : lo;
      hi = dv > hi ? dv : hi;
    }
    const unsigned ballot = __ballot_sync(0xFFFFFFFFu, out);
    if (lane == 0) warp_cnt[warp] = __popc(ballot);
    __syncthreads();
    int before = 0, tile = 0;
    for (int w = 0; w < kWarps; ++w) {
      before += w < warp ? warp_cnt[w] : 0;
      tile += warp_cnt[w];
    }
    if (out) {
      const int k = n_out + before + __popc(ballot & ((1u << lane) - 1u));
      const uint32_t rec = static_cast<uint32_t>(i) | (static_cast<uint32_t>(qmath::float_to_half_sat(x[i])) << 16);
      reinterpret_cast<uint32_t*>(outl)[k] = rec;  // little-endian: column u16, then value fp16
    }
    n_out += tile;
    __syncthreads();  // warp_cnt is reused by the next tile
  }
  lo = warp_min(lo);
  hi = warp_max(hi);
  if (lane == 0) {
    warp_lo[warp] = lo;
    warp_hi[warp] = hi;
  }
  __syncthreads();
  lo = warp_lo[0];
  hi = warp_hi[0];
  for (int w = 1; w < kWarps; ++w) {
    lo = warp_lo[w] < lo ? warp_lo[w] : lo;
    hi = warp_hi[w] > hi ? warp_hi[w] : hi;
  }

  // 3. Bit-width and row header.
  const double range = static_cast<double>(hi) - static_cast<double>(lo);
  int bits;
  if (p.uniform) {
    bits = range > 0 ? p.uniform_bits : 0;
  } else {
    const float pivot = p.ts && p.sigma ? codec_detail::next_pivot(sm) : 0.0f;
    const RowMoments dm = block_pass(x, d, true, p.ts, tau, 0.0f, pivot);
    bits = qmath::tabq_choose_bits(range, dm.var, p.eps, p.allowed, p.n_allowed);
  }
  const qmath::ActHeader h = qmath::act_header(lo, hi, bits);
  if (tid == 0) {
    RowOut r;
    r.bits = static_cast<uint8_t>(bits);
    r.min_h = h.min_h;
    r.delta_h = h.delta_h;
    r.n_out = static_cast<uint16_t>(n_out);
    rows[t] = r;
  }
  if (bits == 0) return;

  // 4. Codes: eight per thread, b bytes each; the tail group (d % 8 codes) by one thread.
  const float mn = qmath::half_to_float(h.min_h), inv = qmath::inv_or_zero(qmath::half_to_float(h.delta_h));
  const uint32_t max_code = (1u << bits) - 1u;
  uint8_t* codes = codes_all + t * code_cap;
  const int64_t groups = (d + 7) / 8;
  for (int64_t j = tid; j < groups; j += kBlock) {
    uint8_t* dst = codes + j * bits;
    uint32_t acc = 0;
    int nacc = 0;
    const int64_t i_end = (j + 1) * 8 < d ? (j + 1) * 8 : d;
    for (int64_t i = j * 8; i < i_end; ++i) {
      bool out;
      const float dv = dense_value(x[i], p.ts, tau, out);
      acc |= qmath::act_code(dv, mn, inv, max_code) << nacc;
      nacc += bits;
      while (nacc >= 8) {
        *dst++ = static_cast<uint8_t>(acc);
        acc >>= 8;
        nacc -= 8;
      }
    }
    if (nacc > 0) *dst = static_cast<uint8_t>(acc);  // the row's last, partial byte
  }
}

// One block per token row.
__global__ void decode_rows_kernel(const uint8_t* __restrict__ wire, int64_t d, const RowOut* __restrict__ rows,
                                   const int64_t* __restrict__ code_off, const int64_t* __restrict__ out_off,
                                   float* __restrict__ out_all) {
  const int64_t t = blockIdx.x;
  const RowOut row = rows[t];
  float* y = out_all + t * d;
  const float mn = qmath::half_to_float(row.min_h), delta = qmath::half_to_float(row.delta_h);
  const uint8_t* codes = wire + code_off[t];
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x)
    y[i] = row.bits == 0 ? mn : qmath::act_value(qmath::unpack_code(codes, i, row.bits), mn, delta);
  __syncthreads();  // the outliers overwrite dense values other threads wrote
  const uint8_t* o = wire + out_off[t];
  for (int k = threadIdx.x; k < row.n_out; k += blockDim.x) {
    const uint32_t col = o[4 * k] | (static_cast<uint32_t>(o[4 * k + 1]) << 8);
    const uint16_t val = static_cast<uint16_t>(o[4 * k + 2] | (static_cast<uint32_t>(o[4 * k + 3]) << 8));
    y[col] = qmath::half_to_float(val);
  }
}

}  // namespace splitsim::codec_cuda
