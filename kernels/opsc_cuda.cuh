// Device code of the CUDA quantized GEMV (decode) and GEMM (prefill) on an OPSC matrix resident on the device,
// in the tiled layout of opsc_tiled.hpp (bits 2, 3, 4, 8 with group_size % 32 == 0) or the plain layout of opsc.hpp
// (anything else). Sums run in a fixed order (no atomics), so results repeat bit for bit run to run.
//
//   gemv_tiled_kernel (tiled layout; the decode path). A block holds one warp per warp group of a column split
//     (up to 16 warp groups, 16,384 columns; wider matrices are cut into splits whose partial sums a second
//     kernel adds in split order). Lane l keeps its chunk's 32 inputs x in registers for the whole launch and
//     walks the rows of the block's row tiles, U rows at a time: U * b words of codes in flight (16-, 8- or 4-byte
//     coalesced loads), one group-header word per row, opsc_tiled::chunk_dot per row, a five-level shuffle sum per
//     row and warp, then the warps' sums added in warp order through shared memory. Blocks stride over row tiles
//     (a persistent grid sized by occupancy), so x is read once per block.
//   gemv_generic_kernel (plain layout; any bits and group size): one warp per row, lane l the columns l, l + 32, ...
//   gemm_tc_kernel (tiled layout; the prefill path): 64 tokens x BN rows per block (BN = 64, or 32 when 64 would
//     leave multiprocessors idle), warps of 32 or 16 tokens x 16 rows, K in steps of 128 columns. Per step, each
//     thread dequantizes one chunk or half of one to fp16 ((q - z) s rounded once) into shared memory and copies its share
//     of the fp16 inputs (converted once by to_half_kernel); wmma 16x16x16 with fp32 accumulators. Two
//     shared-memory stages; the next step's codes and inputs are loaded into registers while the tensor cores work
//     on the current one. Error bound in tests/kernels/test_cuda.cpp: fp16 inputs and weights,
//     |y - ref| <= 2^-10 sum |w x| plus fp32 accumulation.
//   gemm_exact_kernel (any layout): 32 x 32 tiles, fp32 weights dequantized exactly as dequantize_matrix and summed
//     in k order per 32-column slice: the exact mode the tests hold to the reference's fp32 bound.
// Plain CUDA C++17 (CUDA 11.4 for Jetson Xavier NX, -DCMAKE_CUDA_ARCHITECTURES=72, through CUDA 13); wmma needs
// sm_70 or newer.
#pragma once
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <mma.h>

#include <cstdint>

#include "kernels/opsc_tiled.hpp"
#include "kernels/quant_math.hpp"

namespace splitsim::opsc_cuda {

// A resident matrix as the kernels see it (device pointers).
struct MatrixView {
  bool tiled = false;
  const uint32_t* words = nullptr;    // tiled: rows x row_words
  const uint32_t* headers = nullptr;  // tiled: rows x groups, opsc_tiled::group_header
  const uint8_t* codes = nullptr;     // plain: rows x row_code_bytes
  const uint16_t* scales = nullptr;   // plain: rows x groups
  const uint16_t* zeros = nullptr;
  int64_t rows = 0, cols = 0, groups = 0, row_words = 0, row_code_bytes = 0;
  int bits = 4, group_size = 128;
};

constexpr int kMaxSplitWarps = 16;  // warp groups per GEMV block (512 threads)
constexpr int kGenericWarps = 8;    // rows per generic GEMV block
constexpr int kTile = 32;           // exact GEMM tile edge (tokens, rows and columns)
constexpr int kTileRowsPerThread = 4;
constexpr int kTcM = 64;            // tensor-core GEMM: tokens per block (rows per block: BN = 32 or 64)
constexpr int kTcK = 128;           // columns per pipeline stage (four chunks)
constexpr int kTcLd = kTcK + 8;     // halves per shared row: 16-byte aligned rows, banks spread
constexpr int kTcCLd = 64 + 4;      // floats per row of the staged output tile

__device__ __forceinline__ float half_bits_to_float(uint32_t h) {
  return __half2float(__ushort_as_half(static_cast<unsigned short>(h & 0xFFFFu)));
}

// The fp32 weight (r, c) exactly as dequantize_matrix computes it, from either layout.
__device__ __forceinline__ float weight_at(const MatrixView& m, int64_t r, int64_t c) {
  const int64_t g = c / m.group_size;
  uint32_t q;
  uint16_t s, z;
  if (m.tiled) {
    q = opsc_tiled::tiled_code(m.words + r * m.row_words, m.bits, c);
    const uint32_t h = m.headers[r * m.groups + g];
    s = static_cast<uint16_t>(h & 0xFFFFu);
    z = static_cast<uint16_t>(h >> 16);
  } else {
    q = qmath::unpack_code(m.codes + r * m.row_code_bytes, c, m.bits);
    s = m.scales[r * m.groups + g];
    z = m.zeros[r * m.groups + g];
  }
  return qmath::weight_value(q, qmath::half_to_float(s), qmath::half_to_float(z));
}

// ---------------------------------------------------------------------------------------------------------
// GEMV, tiled layout.

// Where a lane's chunk sits in every row: the offsets of its pieces (opsc_tiled::piece_of), computed once.
template <int B>
struct ChunkOffsets {
  int64_t first = 0, second = 0;  // words from the row start: piece 0, and piece 1 (B = 8: words 4..7; B = 3: word 2)
  __device__ explicit ChunkOffsets(int64_t c)
      : first(opsc_tiled::word_index(B, c, 0)), second(opsc_tiled::word_index(B, c, B == 8 ? 4 : (B == 3 ? 2 : 0))) {}
};

// The B words of a chunk of `row`: one vector load per piece.
template <int B>
__device__ __forceinline__ void load_chunk(const uint32_t* __restrict__ row, const ChunkOffsets<B>& o, uint32_t* w) {
  if constexpr (B == 8) {
    const uint4 a = __ldg(reinterpret_cast<const uint4*>(row + o.first));
    const uint4 b = __ldg(reinterpret_cast<const uint4*>(row + o.second));
    w[0] = a.x, w[1] = a.y, w[2] = a.z, w[3] = a.w, w[4] = b.x, w[5] = b.y, w[6] = b.z, w[7] = b.w;
  } else if constexpr (B == 4) {
    const uint4 a = __ldg(reinterpret_cast<const uint4*>(row + o.first));
    w[0] = a.x, w[1] = a.y, w[2] = a.z, w[3] = a.w;
  } else if constexpr (B == 3) {
    const uint2 a = __ldg(reinterpret_cast<const uint2*>(row + o.first));
    w[0] = a.x, w[1] = a.y, w[2] = __ldg(row + o.second);
  } else {
    static_assert(B == 2, "tiled layout: 2, 3, 4 or 8 bits");
    const uint2 a = __ldg(reinterpret_cast<const uint2*>(row + o.first));
    w[0] = a.x, w[1] = a.y;
  }
}
template <int B>
__device__ __forceinline__ void load_chunk(const uint32_t* __restrict__ row, int64_t c, uint32_t* w) {
  load_chunk<B>(row, ChunkOffsets<B>(c), w);
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xFFFFFFFFu, v, o);
  return v;
}

// Warp sums of U values per lane (U = 2, 4 or 8), one per row, in 2U - 1 + log2(32 / U) shuffles instead of 5 U: at
// offsets 16, 8, ... a lane keeps half of its values and adds its partner's copy of them, until one is left, then a
// plain butterfly. Returns the sum of row row_of_lane(lane); every lane of a group of 32 / U lanes holds the same.
template <int U>
__device__ __forceinline__ float warp_sums(float (&p)[U], int lane) {
  int n = U;
#pragma unroll
  for (int o = 16; o >= 32 / U; o >>= 1) {
    const bool hi = lane & o;
    n >>= 1;
#pragma unroll
    for (int k = 0; k < U / 2; ++k) {
      if (k < n) {
        const float send = hi ? p[k] : p[k + n], keep = hi ? p[k + n] : p[k];
        p[k] = keep + __shfl_xor_sync(0xFFFFFFFFu, send, o);
      }
    }
  }
  float v = p[0];
#pragma unroll
  for (int o = 32 / U / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xFFFFFFFFu, v, o);
  return v;
}
// The row whose sum warp_sums leaves in this lane: the upper half at offset 16 is rows U/2.., and so on.
template <int U>
__device__ __forceinline__ int row_of_lane(int lane) {
  int r = 0, n = U;
#pragma unroll
  for (int o = 16; o >= 32 / U; o >>= 1) {
    n >>= 1;
    if (lane & o) r += n;
  }
  return r;
}

// Grid (row blocks, splits); blockDim.x = 32 * warps, warps = the split's warp groups. out: y (one split) or the
// splits' partial sums, split-major (rows per split). Shared memory: warps x tile_rows floats. PF: software
// pipelined, the next U rows' codes are loaded while the current U rows are computed.
template <int B, int U, bool PF>
__global__ void __launch_bounds__(32 * kMaxSplitWarps) gemv_tiled_kernel(MatrixView m, const float* __restrict__ x,
                                                                         float* __restrict__ out, int tile_rows,
                                                                         int split_warps) {
  extern __shared__ float red[];  // [warp][tile_rows]
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  const int64_t chunk = (static_cast<int64_t>(blockIdx.y) * split_warps + warp) * opsc_tiled::kGroupChunks + lane;
  const bool active = chunk < opsc_tiled::chunks(m.cols);
  const int64_t c0 = chunk * opsc_tiled::kChunkCodes;

  float xr[32];  // this lane's inputs, zero past the last column
  if (active && c0 + 32 <= m.cols) {
#pragma unroll
    for (int i = 0; i < 32; i += 4) {
      const float4 v = __ldg(reinterpret_cast<const float4*>(x + c0 + i));
      xr[i] = v.x, xr[i + 1] = v.y, xr[i + 2] = v.z, xr[i + 3] = v.w;
    }
  } else {
#pragma unroll
    for (int i = 0; i < 32; ++i) xr[i] = active && c0 + i < m.cols ? x[c0 + i] : 0.0f;
  }
  const int64_t n_tiles = (m.rows + tile_rows - 1) / tile_rows;
  float* y = out + static_cast<int64_t>(blockIdx.y) * m.rows;
  const ChunkOffsets<B> offsets(active ? chunk : 0);
  const uint32_t* lane_words = m.words;
  const uint32_t* lane_headers = m.headers + (active ? c0 / m.group_size : 0);

  for (int64_t tile = blockIdx.x; tile < n_tiles; tile += gridDim.x) {
    const int64_t r0 = tile * tile_rows;
    const int nr = static_cast<int>(m.rows - r0 < tile_rows ? m.rows - r0 : tile_rows);
    // Rows r0 + rr .. + U - 1 into w, hdr (zeros past the tile).
    const auto load = [&](int rr, uint32_t (&w)[U][B], uint32_t (&hdr)[U]) {
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const int64_t r = r0 + rr + u;
        if (active && rr + u < nr) {
          load_chunk<B>(lane_words + r * m.row_words, offsets, w[u]);
          hdr[u] = __ldg(lane_headers + r * m.groups);
        } else {
#pragma unroll
          for (int j = 0; j < B; ++j) w[u][j] = 0;
          hdr[u] = 0;
        }
      }
    };
    // Inactive lanes and rows past the tile hold zero codes, inputs and scales: their products are exact zeros, so
    // every lane runs the same straight-line code (no branch keeps the rows' chains from interleaving).
    const auto compute = [&](int rr, const uint32_t (&w)[U][B], const uint32_t (&hdr)[U]) {
      float part[U];
#pragma unroll
      for (int u = 0; u < U; ++u) {
        const float s = half_bits_to_float(hdr[u]), zb = opsc_tiled::kMagicF + half_bits_to_float(hdr[u] >> 16);
        part[u] = qmath::mul_rn(s, opsc_tiled::chunk_dot<B>(w[u], xr, zb));
      }
      const float sum = warp_sums<U>(part, lane);
      const int u = row_of_lane<U>(lane);
      if ((lane & (32 / U - 1)) == 0 && rr + u < nr) red[warp * tile_rows + rr + u] = sum;
    };
    uint32_t wa[U][B], ha[U];
    if constexpr (PF) {
      uint32_t wb[U][B], hb[U];
      load(0, wa, ha);
      for (int rr = 0; rr < nr; rr += 2 * U) {
        load(rr + U, wb, hb);
        compute(rr, wa, ha);
        load(rr + 2 * U, wa, ha);
        compute(rr + U, wb, hb);
      }
    } else {
      for (int rr = 0; rr < nr; rr += U) {
        load(rr, wa, ha);
        compute(rr, wa, ha);
      }
    }
    __syncthreads();
    for (int i = threadIdx.x; i < nr; i += blockDim.x) {
      float s = red[i];
      for (int k = 1; k < warps; ++k) s = qmath::add_rn(s, red[k * tile_rows + i]);
      y[r0 + i] = s;
    }
    __syncthreads();  // red is rewritten by the next tile
  }
}

// y[r] = sum over splits s (in order) of part[s * rows + r].
__global__ void add_splits_kernel(const float* __restrict__ part, int64_t rows, int splits, float* __restrict__ y) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  float s = part[r];
  for (int k = 1; k < splits; ++k) s = qmath::add_rn(s, part[k * rows + r]);
  y[r] = s;
}

// ---------------------------------------------------------------------------------------------------------
// GEMV, plain layout (any bits and group size): one warp per row.
__global__ void gemv_generic_kernel(MatrixView m, const float* __restrict__ x, float* __restrict__ y) {
  const int lane = threadIdx.x & 31;
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kGenericWarps + (threadIdx.x >> 5);
  if (r >= m.rows) return;  // whole warps leave together: the shuffles below see all 32 lanes
  const uint8_t* codes = m.codes + r * m.row_code_bytes;
  float acc = 0.0f;
  for (int64_t g = 0; g < m.groups; ++g) {
    const float s = qmath::half_to_float(m.scales[r * m.groups + g]), z = qmath::half_to_float(m.zeros[r * m.groups + g]);
    const int64_t c0 = g * m.group_size, c1 = c0 + m.group_size < m.cols ? c0 + m.group_size : m.cols;
    for (int64_t c = c0 + lane; c < c1; c += 32)
      acc = fmaf(qmath::weight_value(qmath::unpack_code(codes, c, m.bits), s, z), x[c], acc);
  }
  for (int o = 16; o > 0; o >>= 1) acc += __shfl_down_sync(0xFFFFFFFFu, acc, o);
  if (lane == 0) y[r] = acc;
}

// ---------------------------------------------------------------------------------------------------------
// GEMM, exact: block (bx, by) computes rows [bx * 32, +32) for tokens [by * 32, +32); threads (32, 8).
__global__ void gemm_exact_kernel(MatrixView m, const float* __restrict__ x, int64_t T, float* __restrict__ y) {
  __shared__ float xs[kTile][kTile + 1];  // [token][column]
  __shared__ float ws[kTile][kTile + 1];  // [row][column]
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t r0 = static_cast<int64_t>(blockIdx.x) * kTile, t0 = static_cast<int64_t>(blockIdx.y) * kTile;
  float acc[kTileRowsPerThread] = {};
  for (int64_t k0 = 0; k0 < m.cols; k0 += kTile) {
    const int64_t c = k0 + tx;
    for (int j = 0; j < kTileRowsPerThread; ++j) {
      const int i = ty + 8 * j;
      const int64_t t = t0 + i, r = r0 + i;
      xs[i][tx] = t < T && c < m.cols ? x[t * m.cols + c] : 0.0f;
      ws[i][tx] = r < m.rows && c < m.cols ? weight_at(m, r, c) : 0.0f;
    }
    __syncthreads();
    for (int j = 0; j < kTileRowsPerThread; ++j) {
      float part = 0.0f;
      for (int k = 0; k < kTile; ++k) part = fmaf(xs[ty + 8 * j][k], ws[tx][k], part);
      acc[j] += part;
    }
    __syncthreads();
  }
  const int64_t r = r0 + tx;
  for (int j = 0; j < kTileRowsPerThread; ++j) {
    const int64_t t = t0 + ty + 8 * j;
    if (t < T && r < m.rows) y[t * m.rows + r] = acc[j];
  }
}

// ---------------------------------------------------------------------------------------------------------
// GEMM on the tensor cores, tiled layout.

// x (T x cols, fp32) -> xh (T x ld, fp16, round to nearest even; zero past cols).
__global__ void to_half_kernel(const float* __restrict__ x, int64_t T, int64_t cols, int64_t ld, __half* __restrict__ xh) {
  const int64_t n = T * ld;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t t = i / ld, c = i - t * ld;
    xh[i] = __float2half_rn(c < cols ? x[t * cols + c] : 0.0f);
  }
}

// Codes [FIRST, FIRST + N) of a chunk as fp16 weights (q - z) s, each rounded once, into dst[0..N) (16-byte aligned;
// N a multiple of 8).
template <int B, int FIRST, int N>
__device__ __forceinline__ void dequant_codes(const uint32_t* w, uint32_t hdr, __half* dst) {
  float v[32];
  opsc_tiled::chunk_magic<B>(w, v);
  const float s = half_bits_to_float(hdr), zb = opsc_tiled::kMagicF + half_bits_to_float(hdr >> 16);
  uint4* d = reinterpret_cast<uint4*>(dst);
#pragma unroll
  for (int q = 0; q < N / 8; ++q) {
    uint32_t p[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int k = FIRST + 8 * q + 2 * i;
      const __half a = __float2half_rn(qmath::mul_rn(qmath::sub_rn(v[k], zb), s));
      const __half b = __float2half_rn(qmath::mul_rn(qmath::sub_rn(v[k + 1], zb), s));
      p[i] = static_cast<uint32_t>(__half_as_ushort(a)) | (static_cast<uint32_t>(__half_as_ushort(b)) << 16);
    }
    d[q] = make_uint4(p[0], p[1], p[2], p[3]);
  }
}

// Shared memory of gemm_tc_kernel<B, BN, WM>: two stages of A (64 tokens) and B (BN rows), kTcK columns each.
__host__ __device__ constexpr size_t tc_smem_bytes(int bn) {
  return 2 * static_cast<size_t>(kTcM + bn) * kTcLd * sizeof(__half);
}
__host__ __device__ constexpr int tc_threads(int bn, int wm) { return wm * (bn / 16) * 32; }

// Grid (row blocks of BN, token blocks of 64); WM x BN / 16 warps, each 64 / WM tokens x 16 rows. Per stage a thread
// dequantizes one chunk of a row (WM = 2) or half of one (WM = 4; uniform per warp). xh: T x ldx fp16 (ldx =
// chunks * 32). Dynamic shared memory: tc_smem_bytes(BN).
template <int B, int BN, int WM>
__global__ void __launch_bounds__(tc_threads(BN, WM)) gemm_tc_kernel(MatrixView m, const __half* __restrict__ xh,
                                                                     int64_t ldx, int64_t T, float* __restrict__ y) {
  namespace wmma = nvcuda::wmma;
  constexpr int kThreads = tc_threads(BN, WM), kStage = (kTcM + BN) * kTcLd;  // halves per stage: A, then B rows
  constexpr int kChunksPerStep = kTcK / opsc_tiled::kChunkCodes;
  constexpr int kSegs = kTcM * kTcK / 8 / kThreads;  // 16-byte input segments per thread and stage
  constexpr int kFm = 64 / WM / 16;                  // 16-token fragments per warp
  static_assert(WM == 2 || WM == 4, "2 or 4 warps along the tokens");
  static_assert(static_cast<size_t>(kTcM) * kTcCLd * sizeof(float) <= tc_smem_bytes(BN), "output tile reuses stages");
  extern __shared__ __align__(128) unsigned char smem[];
  __half* st = reinterpret_cast<__half*>(smem);

  const int tid = threadIdx.x, warp = tid >> 5;
  const int64_t r0 = static_cast<int64_t>(blockIdx.x) * BN, t0 = static_cast<int64_t>(blockIdx.y) * kTcM;
  const int64_t n_chunks = opsc_tiled::chunks(m.cols);
  const int64_t n_steps = (n_chunks + kChunksPerStep - 1) / kChunksPerStep;
  // This thread's weights: row b_row, chunk b_chunk of the step, codes [16 b_half, ..) when WM = 4.
  const int b_row = tid % BN, b_chunk = (tid / BN) % kChunksPerStep, b_half = tid / (BN * kChunksPerStep);
  const bool b_ok = r0 + b_row < m.rows;
  const uint32_t* b_words = m.words + (r0 + b_row) * m.row_words;
  const uint32_t* b_hdr = m.headers + (r0 + b_row) * m.groups;

  uint4 ra[kSegs];
  uint32_t rw[B], rh = 0;
  const auto load = [&](int64_t step) {
#pragma unroll
    for (int i = 0; i < kSegs; ++i) {
      const int seg = tid + kThreads * i, row = seg / (kTcK / 8), c = (seg % (kTcK / 8)) * 8;
      const int64_t col = step * kTcK + c;
      ra[i] = t0 + row < T && col < ldx ? __ldg(reinterpret_cast<const uint4*>(xh + (t0 + row) * ldx + col))
                                        : make_uint4(0, 0, 0, 0);
    }
    const int64_t kc = step * kChunksPerStep + b_chunk;
    if (b_ok && kc < n_chunks) {
      load_chunk<B>(b_words, kc, rw);
      rh = __ldg(b_hdr + kc * opsc_tiled::kChunkCodes / m.group_size);
    } else {
#pragma unroll
      for (int j = 0; j < B; ++j) rw[j] = 0;
      rh = 0;
    }
  };
  const auto store = [&](int stage) {
    __half* a = st + stage * kStage;
#pragma unroll
    for (int i = 0; i < kSegs; ++i) {
      const int seg = tid + kThreads * i, row = seg / (kTcK / 8), c = (seg % (kTcK / 8)) * 8;
      *reinterpret_cast<uint4*>(a + row * kTcLd + c) = ra[i];
    }
    __half* b = a + (kTcM + b_row) * kTcLd + b_chunk * opsc_tiled::kChunkCodes;
    if constexpr (WM == 2) {
      dequant_codes<B, 0, 32>(rw, rh, b);
    } else if (b_half == 0) {
      dequant_codes<B, 0, 16>(rw, rh, b);
    } else {
      dequant_codes<B, 16, 16>(rw, rh, b + 16);
    }
  };

  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[kFm];
#pragma unroll
  for (int i = 0; i < kFm; ++i) wmma::fill_fragment(acc[i], 0.0f);
  const int wm = warp / (BN / 16), wn = warp % (BN / 16);  // tokens (64 / WM) wm.., rows 16 wn..

  load(0);
  store(0);
  __syncthreads();
  for (int64_t step = 0; step < n_steps; ++step) {
    const int stage = static_cast<int>(step & 1);
    if (step + 1 < n_steps) load(step + 1);
    const __half* a = st + stage * kStage;
    const __half* b = a + kTcM * kTcLd;
#pragma unroll
    for (int kk = 0; kk < kTcK; kk += 16) {
      wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::col_major> fb;
      wmma::load_matrix_sync(fb, b + (16 * wn) * kTcLd + kk, kTcLd);
#pragma unroll
      for (int i = 0; i < kFm; ++i) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> fa;
        wmma::load_matrix_sync(fa, a + (64 / WM * wm + 16 * i) * kTcLd + kk, kTcLd);
        wmma::mma_sync(acc[i], fa, fb, acc[i]);
      }
    }
    if (step + 1 < n_steps) store(stage ^ 1);
    __syncthreads();
  }

  float* Cs = reinterpret_cast<float*>(smem);  // [token][row]; the stages are free after the last barrier
#pragma unroll
  for (int i = 0; i < kFm; ++i)
    wmma::store_matrix_sync(Cs + (64 / WM * wm + 16 * i) * kTcCLd + 16 * wn, acc[i], kTcCLd, wmma::mem_row_major);
  __syncthreads();
  for (int idx = tid; idx < kTcM * BN; idx += kThreads) {
    const int i = idx / BN, j = idx % BN;
    const int64_t t = t0 + i, r = r0 + j;
    if (t < T && r < m.rows) y[t * m.rows + r] = Cs[i * kTcCLd + j];
  }
}

}  // namespace splitsim::opsc_cuda
