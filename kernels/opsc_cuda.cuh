// Device code of the CUDA quantized GEMV (decode) and GEMM (prefill) on the packed OPSC format of opsc.hpp. Each
// weight is dequantized with quant_math.hpp's weight_value — the same float as dequantize_matrix — and multiplied
// in fp32 with FMA; the sums run in a fixed order (no atomics), so results repeat bit for bit run to run and
// differ from the double-accumulated reference by fp32 rounding only (tests/kernels/test_cuda.cpp names the
// bound). Any bit-width in 2..16 and any group size work: codes are read with the generic unpack_code.
//   GEMV: one warp per output row; lane l takes the columns c = l, l + 32, ... group by group (scale and zero
//         read once per group), then a shuffle tree adds the 32 lanes.
//   GEMM: 32 x 32 output tiles (tokens x rows) with 32 x 8 threads; per 32-column slice, x and dequantized W go
//         through shared memory, each thread sums its four outputs' slice products in k order and adds the slice
//         total to its running sum.
// Plain CUDA C++17 (CUDA 11.4 for Jetson Xavier NX, -DCMAKE_CUDA_ARCHITECTURES=72, through CUDA 13).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda_launch.hpp"
#include "kernels/quant_math.hpp"

namespace splitsim::opsc_cuda {

using cuda_launch::PackedMatrix;

constexpr int kGemvWarps = 8;  // rows per GEMV block
constexpr int kTile = 32;      // GEMM tile edge (tokens, rows and columns)
constexpr int kTileRowsPerThread = 4;

// m's pointers are device pointers here.
__global__ void gemv_kernel(PackedMatrix m, const float* __restrict__ x, float* __restrict__ y) {
  const int lane = threadIdx.x & 31;
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kGemvWarps + (threadIdx.x >> 5);
  if (r >= m.rows) return;  // whole warps leave together: the shuffles below see all 32 lanes
  const int64_t G = (m.cols + m.group_size - 1) / m.group_size;
  const uint8_t* codes = m.codes + r * m.row_code_bytes;
  float acc = 0.0f;
  for (int64_t g = 0; g < G; ++g) {
    const float s = qmath::half_to_float(m.scales[r * G + g]), z = qmath::half_to_float(m.zeros[r * G + g]);
    const int64_t c0 = g * m.group_size, c1 = c0 + m.group_size < m.cols ? c0 + m.group_size : m.cols;
    for (int64_t c = c0 + lane; c < c1; c += 32)
      acc = fmaf(qmath::weight_value(qmath::unpack_code(codes, c, m.bits), s, z), x[c], acc);
  }
  for (int o = 16; o > 0; o >>= 1) acc += __shfl_down_sync(0xFFFFFFFFu, acc, o);
  if (lane == 0) y[r] = acc;
}

// Block (bx, by): rows [bx * 32, +32), tokens [by * 32, +32); threads (32, 8).
__global__ void gemm_kernel(PackedMatrix m, const float* __restrict__ x, int64_t T, float* __restrict__ y) {
  __shared__ float xs[kTile][kTile + 1];  // [token][column]
  __shared__ float ws[kTile][kTile + 1];  // [row][column]
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t r0 = static_cast<int64_t>(blockIdx.x) * kTile, t0 = static_cast<int64_t>(blockIdx.y) * kTile;
  const int64_t G = (m.cols + m.group_size - 1) / m.group_size;
  float acc[kTileRowsPerThread] = {};
  for (int64_t k0 = 0; k0 < m.cols; k0 += kTile) {
    const int64_t c = k0 + tx;
    for (int j = 0; j < kTileRowsPerThread; ++j) {
      const int i = ty + 8 * j;
      const int64_t t = t0 + i, r = r0 + i;
      xs[i][tx] = t < T && c < m.cols ? x[t * m.cols + c] : 0.0f;
      float w = 0.0f;
      if (r < m.rows && c < m.cols) {
        const int64_t g = c / m.group_size;
        w = qmath::weight_value(qmath::unpack_code(m.codes + r * m.row_code_bytes, c, m.bits),
                                qmath::half_to_float(m.scales[r * G + g]), qmath::half_to_float(m.zeros[r * G + g]));
      }
      ws[i][tx] = w;
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

}  // namespace splitsim::opsc_cuda
