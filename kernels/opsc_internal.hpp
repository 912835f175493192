// Internal to kernels/: the backends of the quantized GEMV/GEMM (see opsc.hpp for the public API).
#pragma once
#include <cstdint>

#include "kernels/cuda_launch.hpp"
#include "kernels/opsc.hpp"

namespace splitsim::opsc_detail {

void check_matrix(const QuantizedMatrix& q);  // InputError when codes/scales/zeros do not match the shape

// Rows [r0, r1) of y = W^ x.
void gemv_rows_reference(const QuantizedMatrix& q, const float* x, float* y, int64_t r0, int64_t r1);
void gemv_rows_cpu(const QuantizedMatrix& q, const float* x, float* y, int64_t r0, int64_t r1);
// Columns [r0, r1) of Y = X W^T (T x rows).
void gemm_rows_cpu(const QuantizedMatrix& q, const float* x, int64_t T, float* y, int64_t r0, int64_t r1);

// The CUDA launchers' view of a matrix (host pointers into q).
inline cuda_launch::PackedMatrix packed_view(const QuantizedMatrix& q) {
  cuda_launch::PackedMatrix m;
  m.codes = q.codes.data();
  m.scales = q.scales.data();
  m.zeros = q.zeros.data();
  m.rows = q.rows;
  m.cols = q.cols;
  m.row_code_bytes = q.row_code_bytes();
  m.bits = q.bits;
  m.group_size = q.group_size;
  return m;
}

// CUDA (opsc_cuda.cu): host pointers in, host pointers out; returns the kernel time in seconds.
double gemv_cuda(const QuantizedMatrix& q, const float* x, float* y);
double gemm_cuda(const QuantizedMatrix& q, const float* x, int64_t T, float* y);

}  // namespace splitsim::opsc_detail
