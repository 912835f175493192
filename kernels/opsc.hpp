// OPSC weights: group-wise asymmetric round-to-nearest quantization of a rows x cols matrix (rows = output
// features, cols = input features) at 2, 3, 4 or 8 bits, with a fused dequantize-GEMV for decode and a GEMM for
// prefill batches that work on the packed format directly.
//
// Usage:
//   QuantizedMatrix q = quantize_matrix(w /*rows x cols, row-major*/, rows, cols, /*bits*/ 4, /*group*/ 128);
//   gemv(q, x /*cols*/, y /*rows*/);                          // y = W^ x, decode (one token)
//   gemm(q, X /*T x cols*/, T, Y /*T x rows*/);               // Y = X W^T, prefill
//   std::vector<float> w_hat = dequantize_matrix(q);          // rows x cols
//   q.bytes() == quantized_matrix_bytes(rows, cols, bits, group)  (core/formats/weight_format.hpp), always.
// Quantization runs on the CPU (it happens once, offline); gemv/gemm take a Backend. Errors: InputError for
// bad shapes, bits or group sizes and for non-finite weights.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/backend.hpp"
#include "core/formats/weight_format.hpp"

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

namespace cuda_launch {
struct ResidentMatrix;
}

// How a CudaMatrix computes a prefill GEMM.
enum class CudaGemm {
  tensor_cores,  // fp16 operands, fp32 accumulation (2, 3, 4, 8 bits with group_size % 32 == 0; else exact).
                 // Inputs and weights must lie within the fp16 range (|x| <= 65504); larger values become Inf.
  exact,         // fp32 products summed in a fixed order: the reference's fp32 bound (tests/kernels/test_cuda.cpp)
};

// A QuantizedMatrix resident on the CUDA device: uploaded once in the layout the CUDA kernels read (the tiled layout
// of kernels/opsc_tiled.hpp for 2, 3, 4, 8 bits with group sizes divisible by 32, else the packed one) and freed
// with the handle. gemv/gemm take host pointers and return the seconds spent in the kernels alone. The plain
// gemv/gemm above with Backend::cuda upload a temporary one per call.
//   CudaMatrix m(q);                  // throws std::runtime_error when no CUDA device is available
//   m.gemv(x, y);                     // decode: the fast GEMV of the tiled layout
//   m.gemm(X, T, Y);                  // prefill: tensor cores (CudaGemm::exact for the fixed-order fp32 kernel)
class CudaMatrix {
 public:
  explicit CudaMatrix(const QuantizedMatrix& q);
  ~CudaMatrix();
  CudaMatrix(CudaMatrix&& o) noexcept;
  CudaMatrix& operator=(CudaMatrix&& o) noexcept;
  CudaMatrix(const CudaMatrix&) = delete;
  CudaMatrix& operator=(const CudaMatrix&) = delete;

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t device_bytes() const;  // codes and group headers as stored on the device (tiled rows are padded)
  bool tiled() const;
  double gemv(const float* x, float* y) const;                                             // y = W^ x
  double gemm(const float* x, int64_t T, float* y, CudaGemm mode = CudaGemm::tensor_cores) const;  // Y = X W^T

 private:
  cuda_launch::ResidentMatrix* m_ = nullptr;
  int64_t rows_ = 0, cols_ = 0;
};

}  // namespace splitsim
