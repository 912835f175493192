// Device code of the CUDA codec: one thread block per token row, computing exactly what codec_ref.cpp computes,
// with the same per-element math (quant_math.hpp) and the same row statistics (codec_stats.hpp), so the bytes
// equal the CPU reference's bit for bit.
//
// Encode. The row is staged in shared memory once (rows too long for it work from global memory and a global
// scratch row instead, with the same code). Then, per statistics pass, every thread writes the values the pass
// sums (v - pivot, or 0 for an unselected value) into a scratch row in parallel, and the sums themselves run in
// the canonical order of codec_stats.hpp: 16 threads, one per canonical lane, each adding its lane's values in
// index order (i = l, l + 16, ...); every thread then combines the lanes in the canonical tree and derives tau and
// the moments in double. The sums are a chain of d / 16 dependent adds per lane, which is what a pass costs; every
// other step is spread over the block:
//   counts       exact integer sums (shuffles, then the warps in order).
//   min / max    exact in any order (no NaN reaches the dense part and -0 is +0 there).
//   outliers     in column order: warp w owns a contiguous segment of columns; a first sweep counts each warp's
//                outliers (and takes min, max and the dense pass's values), the warps' counts give each warp its
//                first slot, a second sweep (only in warps that have outliers) writes them with ballots.
//   codes        thread j packs codes 8j .. 8j+7 into bytes [j b, j b + b) (eight codes end on a byte boundary),
//                so threads never share a byte; the < 8 codes past the last whole group go to one thread.
// A decode step's single token runs as one block of 1,024 threads; large blocks of tokens use 128-thread blocks so
// that many rows share a multiprocessor while each waits on its lanes' chains.
// Decode: thread j expands the eight codes of bytes [j b, j b + b); then (after a barrier) the outliers overwrite
// their columns.
// Plain CUDA C++17, no CUDA-12-only features and no cub (cub::Max() is gone in CUDA 13): builds with CUDA 11.4
// (Jetson Xavier NX, -DCMAKE_CUDA_ARCHITECTURES=72) through 13. Built with --fmad=false (kernels/CMakeLists.txt).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "core/formats/wire_block.hpp"
#include "kernels/codec_stats.hpp"
#include "kernels/cuda_launch.hpp"
#include "kernels/quant_math.hpp"

namespace splitsim::codec_cuda {

using codec_detail::kLanes;
using codec_detail::RowMoments;
using codec_detail::RowOut;
using cuda_launch::CodecRowParams;

constexpr int kMaxWarps = 32;
constexpr unsigned kFull = 0xFFFFFFFFu;

// Threads per row block: one token gets the whole block's width, many tokens share the multiprocessors.
inline int encode_threads(int64_t T) { return T <= 8 ? 1024 : (T <= 256 ? 256 : 128); }
inline int decode_threads(int64_t T) { return T <= 8 ? 512 : 256; }

struct EncodeShared {
  int warp_cnt[kMaxWarps];
  float warp_lo[kMaxWarps], warp_hi[kMaxWarps];
  float lane_s[kLanes], lane_q[kLanes];
};

// The dense value of x and whether it is an outlier (codec_ref.cpp's split).
__device__ __forceinline__ float dense_value(float v, bool ts, float tau, bool& outlier) {
  outlier = ts && (!qmath::is_finite(v) || fabsf(v) > tau);
  return outlier ? 0.0f : qmath::dense_sanitize(v);
}

// Sum of v over the block, every thread gets it (integers: exact in any order).
__device__ __forceinline__ int block_sum(int v, int* warp_buf) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(kFull, v, o);
  if (lane == 0) warp_buf[warp] = v;
  __syncthreads();
  int s = 0;
  for (int w = 0; w < warps; ++w) s += warp_buf[w];
  __syncthreads();  // warp_buf is reused
  return s;
}

// The canonical lane sums of values dv[0, d) (codec_stats.hpp), then their moments, to every thread. dv must be
// complete (a barrier before the call).
__device__ RowMoments lane_moments(const float* dv, int64_t d, int64_t n, float pivot, EncodeShared& sh) {
  if (threadIdx.x < kLanes) {
    // Eight values are loaded before they are added, so the shared-memory latency overlaps the chains of adds.
    float s = 0.0f, q = 0.0f;
    int64_t i = threadIdx.x;
    for (; i + 7 * kLanes < d; i += 8 * kLanes) {
      float v[8];
#pragma unroll
      for (int k = 0; k < 8; ++k) v[k] = dv[i + k * kLanes];
#pragma unroll
      for (int k = 0; k < 8; ++k) {
        s = qmath::add_rn(s, v[k]);
        q = qmath::add_rn(q, qmath::mul_rn(v[k], v[k]));
      }
    }
    for (; i < d; i += kLanes) {
      const float v = dv[i];
      s = qmath::add_rn(s, v);
      q = qmath::add_rn(q, qmath::mul_rn(v, v));
    }
    sh.lane_s[threadIdx.x] = s;
    sh.lane_q[threadIdx.x] = q;
  }
  __syncthreads();
  const RowMoments m = codec_detail::row_moments(n, pivot, codec_detail::combine_lanes(sh.lane_s),
                                                 codec_detail::combine_lanes(sh.lane_q));
  __syncthreads();  // the lanes are rewritten by the next pass
  return m;
}

// A sigma iteration: values with |x| <= lim, less the pivot.
__device__ RowMoments sigma_pass(const float* xs, float* dv, int64_t d, float lim, float pivot, EncodeShared& sh) {
  int n = 0;
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x) {
    const float v = xs[i];
    const bool sel = fabsf(v) <= lim;
    n += sel;
    dv[i] = sel ? qmath::sub_rn(v, pivot) : 0.0f;
  }
  const int total = block_sum(n, sh.warp_cnt);  // its barriers also publish dv
  return lane_moments(dv, d, total, pivot, sh);
}

__device__ __forceinline__ float warp_min(float v) {
  for (int o = 16; o > 0; o >>= 1) {
    const float w = __shfl_xor_sync(kFull, v, o);
    v = w < v ? w : v;
  }
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) {
    const float w = __shfl_xor_sync(kFull, v, o);
    v = w > v ? w : v;
  }
  return v;
}

// One block per token row t = blockIdx.x. scratch == nullptr: the row and its pass values live in dynamic shared
// memory (2 d floats); else scratch (T x d floats, global) holds the pass values and the row is read in place.
__global__ void __launch_bounds__(kMaxWarps * 32)
    encode_rows_kernel(const float* __restrict__ x_all, int64_t d, CodecRowParams p, int64_t code_cap,
                       RowOut* __restrict__ rows, uint8_t* __restrict__ codes_all, uint8_t* __restrict__ outl_all,
                       float* __restrict__ scratch) {
  extern __shared__ float dyn[];
  __shared__ EncodeShared sh;
  const int64_t t = blockIdx.x;
  const int tid = static_cast<int>(threadIdx.x), lane = tid & 31, warp = tid >> 5, warps = blockDim.x >> 5;
  const float* x = x_all + t * d;
  const float* xs = x;
  float* dv = scratch ? scratch + t * d : dyn + d;
  if (!scratch) {
    if ((d & 3) == 0) {  // rows start 16-byte aligned: four values per load, the loads of a thread issued together
#pragma unroll 4
      for (int64_t i = 4 * tid; i < d; i += 4 * blockDim.x)
        *reinterpret_cast<float4*>(dyn + i) = __ldg(reinterpret_cast<const float4*>(x + i));
    } else {
#pragma unroll 4
      for (int64_t i = tid; i < d; i += blockDim.x) dyn[i] = x[i];
    }
    xs = dyn;
    __syncthreads();
  }

  // 1. TS threshold.
  float tau = p.ts ? p.tau : INFINITY;
  RowMoments sm;
  if (p.ts && p.sigma) {
    float lim_tau = INFINITY, pivot = 0.0f;
    for (int it = 0; it < p.sigma_iterations; ++it) {
      sm = sigma_pass(xs, dv, d, codec_detail::stat_limit(lim_tau), pivot, sh);
      lim_tau = codec_detail::sigma_tau(sm, p.sigma_k);
      pivot = codec_detail::next_pivot(sm);
    }
    tau = lim_tau;
  }
  const float dense_pivot = p.ts && p.sigma ? codec_detail::next_pivot(sm) : 0.0f;

  // 2. First sweep over each warp's segment: outlier count, min and max of the dense row, the dense pass's values.
  const int64_t seg = ((d + warps - 1) / warps + 31) / 32 * 32;
  const int64_t begin = warp * seg, end = begin + seg < d ? begin + seg : d;
  float lo = INFINITY, hi = -INFINITY;
  int cnt = 0;
  for (int64_t base = begin; base < end; base += 32) {
    const int64_t i = base + lane;
    bool out = false;
    if (i < end) {
      const float v = dense_value(xs[i], p.ts, tau, out);
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
      dv[i] = qmath::sub_rn(v, dense_pivot);
    }
    cnt += __popc(__ballot_sync(kFull, out));
  }
  lo = warp_min(lo);
  hi = warp_max(hi);
  if (lane == 0) {
    sh.warp_cnt[warp] = cnt;
    sh.warp_lo[warp] = lo;
    sh.warp_hi[warp] = hi;
  }
  __syncthreads();
  int first = 0, n_out = 0;
  for (int w = 0; w < warps; ++w) {
    first += w < warp ? sh.warp_cnt[w] : 0;
    n_out += sh.warp_cnt[w];
    lo = sh.warp_lo[w] < lo ? sh.warp_lo[w] : lo;
    hi = sh.warp_hi[w] > hi ? sh.warp_hi[w] : hi;
  }

  // 3. Outliers, in column order: the second sweep, in warps that have any.
  if (cnt > 0) {
    uint32_t* outl = reinterpret_cast<uint32_t*>(outl_all + t * d * 4);
    int k = first;
    for (int64_t base = begin; base < end; base += 32) {
      const int64_t i = base + lane;
      bool out = false;
      if (i < end) (void)dense_value(xs[i], p.ts, tau, out);
      const unsigned ballot = __ballot_sync(kFull, out);
      if (out)  // the wire's outlier entry as its little-endian word
        outl[k + __popc(ballot & ((1u << lane) - 1u))] =
            outlier_word(OutlierEntry{static_cast<uint16_t>(i), qmath::float_to_half_sat(xs[i])});
      k += __popc(ballot);
    }
  }

  // 4. Bit-width and row header.
  const double range = static_cast<double>(hi) - static_cast<double>(lo);
  int bits;
  if (p.uniform) {
    bits = range > 0 ? p.uniform_bits : 0;
  } else {
    const RowMoments dm = lane_moments(dv, d, d, dense_pivot, sh);  // dv complete: the barrier after sweep 1
    bits = qmath::tabq_choose_bits(range, dm.var, p.eps, p.allowed, p.n_allowed);
  }
  const qmath::ActHeader h = qmath::act_header(lo, hi, bits);
  if (tid == 0) {
    RowOut r;
    r.set_header(bits, h);
    r.n_out = static_cast<uint16_t>(n_out);
    rows[t] = r;
  }
  if (bits == 0) return;

  // 5. Codes: eight per thread, b bytes each; the tail group (d % 8 codes) by one thread.
  const float mn = qmath::half_to_float(h.min_h), inv = qmath::inv_or_zero(qmath::half_to_float(h.delta_h));
  const uint32_t max_code = (1u << bits) - 1u;
  uint8_t* codes = codes_all + t * code_cap;
  const int64_t groups = (d + 7) / 8;
  for (int64_t j = tid; j < groups; j += blockDim.x) {
    uint8_t* dst = codes + j * bits;
    uint32_t acc = 0;
    int nacc = 0;
    const int64_t i_end = (j + 1) * 8 < d ? (j + 1) * 8 : d;
    for (int64_t i = j * 8; i < i_end; ++i) {
      bool out;
      const float v = dense_value(xs[i], p.ts, tau, out);
      acc |= qmath::act_code(v, mn, inv, max_code) << nacc;
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

// Bits [bit, bit + 32) of the 128-bit value (hi:lo), bit < 128.
__device__ __forceinline__ uint32_t bits_at(uint64_t lo, uint64_t hi, int bit) {
  if (bit >= 64) return static_cast<uint32_t>(hi >> (bit - 64));
  if (bit == 0) return static_cast<uint32_t>(lo);
  return static_cast<uint32_t>((lo >> bit) | (hi << (64 - bit)));
}

// One block per token row.
__global__ void __launch_bounds__(512) decode_rows_kernel(const uint8_t* __restrict__ wire, int64_t d, const RowOut* __restrict__ rows,
                                   const int64_t* __restrict__ code_off, const int64_t* __restrict__ out_off,
                                   float* __restrict__ out_all) {
  const int64_t t = blockIdx.x;
  const RowOut row = rows[t];
  float* y = out_all + t * d;
  const float mn = qmath::half_to_float(row.min_h), delta = qmath::half_to_float(row.delta_h);
  const uint8_t* codes = wire + code_off[t];
  const int b = row.bits;
  const int64_t n_bytes = (d * b + 7) / 8, groups = (d + 7) / 8;
  const bool vec = (d & 3) == 0;  // rows start 16-byte aligned: whole groups go out as two float4 stores
  for (int64_t j = threadIdx.x; j < groups; j += blockDim.x) {
    float v[8];
    if (b == 0) {
#pragma unroll
      for (int k = 0; k < 8; ++k) v[k] = mn;
    } else {
      uint64_t lo = 0, hi = 0;
      const int64_t b0 = j * b;
      const int nb = static_cast<int>(n_bytes - b0 < b ? n_bytes - b0 : b);
#pragma unroll
      for (int k = 0; k < 16; ++k) {  // predicated loads, all in flight at once
        const uint64_t byte = k < nb ? codes[b0 + k] : 0;
        if (k < 8)
          lo |= byte << (8 * k);
        else
          hi |= byte << (8 * (k - 8));
      }
      const uint32_t mask = (1u << b) - 1u;
#pragma unroll
      for (int k = 0; k < 8; ++k) v[k] = qmath::act_value(bits_at(lo, hi, k * b) & mask, mn, delta);
    }
    float* dst = y + 8 * j;
    if (vec && 8 * j + 8 <= d) {
      reinterpret_cast<float4*>(dst)[0] = make_float4(v[0], v[1], v[2], v[3]);
      reinterpret_cast<float4*>(dst)[1] = make_float4(v[4], v[5], v[6], v[7]);
    } else {
      for (int k = 0; k < 8 && 8 * j + k < d; ++k) dst[k] = v[k];
    }
  }
  __syncthreads();  // the outliers overwrite dense values other threads wrote
  const uint8_t* o = wire + out_off[t];
  for (int k = threadIdx.x; k < row.n_out; k += blockDim.x) {
    const OutlierEntry e = read_outlier(o + kOutlierBytes * k);
    y[e.column] = qmath::half_to_float(e.value_h);
  }
}

}  // namespace splitsim::codec_cuda
