// OPSC weights: group-wise asymmetric round-to-nearest quantization of a rows x cols matrix (rows = output
// features, cols = input features) at 2, 3, 4 or 8 bits, with a fused dequantize-GEMV for decode and a GEMM for
// prefill batches that work on the packed format directly.
//
// Usage:
//   QuantizedMatrix q = quantize_matrix(w /*rows x cols, row-major*/, rows, cols, /*bits*/ 4, /*group*/ 128);
//   gemv(q, x /*cols*/, y /*rows*/);                          // y = W^ x, decode (one token)
//   gemm(q, X /*T x cols*/, T, Y /*T x rows*/);               // Y = X W^T, prefill
//   std::vector<float> w_hat = dequantize_matrix(q);          // rows x cols
//   q.bytes() == quantized_matrix_bytes(rows, cols, bits, group)  (kernels/weight_format.hpp), always.
// Quantization runs on the CPU (it happens once, offline); gemv/gemm take a Backend. Errors: InputError for
// bad shapes, bits or group sizes and for non-finite weights.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/backend.hpp"
#include "kernels/weight_format.hpp"

namespace splitsim {

struct QuantizedMatrix {
  int64_t rows = 0;
  int64_t cols = 0;
  int bits = 4;         // 2, 3, 4 or 8
  int group_size = 128; // consecutive inputs of one row sharing a scale and zero point
  std::vector<uint8_t> codes;    // rows x row_code_bytes(): little-endian bit stream per row, byte-aligned rows
  std::vector<uint16_t> scales;  // rows x groups_per_row(), fp16 bits
  std::vector<uint16_t> zeros;   // rows x groups_per_row(), fp16 bits (an integer code in [0, 2^bits-1])

  int64_t groups_per_row() const { return (cols + group_size - 1) / group_size; }
  int64_t row_code_bytes() const { return quantized_row_code_bytes(cols, bits); }
  const uint8_t* row_codes(int64_t r) const { return codes.data() + r * row_code_bytes(); }
  // Memory the matrix occupies: codes + fp16 scale and zero per group; equals quantized_matrix_bytes().
  int64_t bytes() const {
    return static_cast<int64_t>(codes.size() + 2 * scales.size() + 2 * zeros.size());
  }
};

// w: rows x cols, row-major. group_size in [1, cols] is allowed to not divide cols (the last group is short).
QuantizedMatrix quantize_matrix(const float* w, int64_t rows, int64_t cols, int bits, int group_size);
std::vector<float> dequantize_matrix(const QuantizedMatrix& q);  // rows x cols

// y (rows) = W^ x (cols). threads: 0 = one per hardware thread for large matrices, 1 = single core.
void gemv(const QuantizedMatrix& q, const float* x, float* y, Backend b = Backend::cpu, int threads = 1);
// Y (T x rows) = X (T x cols) W^T.
void gemm(const QuantizedMatrix& q, const float* x, int64_t T, float* y, Backend b = Backend::cpu, int threads = 1);

// CUDA timing hook for calibration: seconds spent in the kernels of the last cuda gemv/gemm call on this thread
// (device-resident time, excluding host<->device copies). 0 for other backends.
double last_cuda_kernel_seconds();

}  // namespace splitsim
