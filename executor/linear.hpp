// A linear layer y = W·x of the executor, and the one matrix-multiply kernel every layer goes through.
//
// The kernel is batch-invariant on purpose: a token's output column is computed with the same summation
// order whether it is multiplied alone or in a batch with other sessions' tokens. That is what lets a server
// batch the decode steps of several edge clients and still produce, token for token, the output of the
// unsplit model (a BLAS GEMM blocks the inner dimension differently for different batch sizes, and greedy
// argmax is sensitive to the last bit in near-ties).
//
// A Linear holds the fp32 matrix, or after quantize() the same matrix in IEEE fp16 (16 bits) or the OPSC packed
// matrix of kernels/opsc.hpp (group-wise asymmetric, 2/3/4/8 bits) whose fused dequantize-GEMV runs on the
// packed codes. fp16 is storage only: each weight is widened to fp32 exactly and multiplied in fp32 in the fp32
// path's order, so an fp16 Linear gives the bits of an fp32 Linear holding the fp16-rounded weights.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

namespace splitsim {

// Y (rows, n) = W (rows, cols) · X (cols, n). W row-major; X and Y column-major (one token per column).
// Each row's dot product runs over 16 interleaved partial sums, reduced in a fixed order, then the tail.
void matmul_fp32(const float* W, int64_t rows, int64_t cols, const float* X, int64_t n, float* Y);
// The same with W (rows, cols) in fp16 bits, widened on the fly (F16C when the host has it, executor/matmul_fp16.cpp):
// bit for bit matmul_fp32 of the widened matrix. matmul_fp16_reference converts a row, then calls matmul_fp32.
void matmul_fp16(const uint16_t* W, int64_t rows, int64_t cols, const float* X, int64_t n, float* Y);
void matmul_fp16_reference(const uint16_t* W, int64_t rows, int64_t cols, const float* X, int64_t n, float* Y);

struct QuantizedMatrix;  // kernels/opsc.hpp

// A transformation of a layer's input, applied to each token column before the multiply. executor/methods/
// uses it for simulated (fake) activation quantization inside the layers (SmoothQuant, Atom, LLM.int8()) and
// to record calibration inputs: it measures accuracy, not speed. A hook must treat every column on its own,
// so the multiply stays batch-invariant.
class LinearInputHook {
 public:
  virtual ~LinearInputHook() = default;
  // out (cols, n) = what the multiply sees for X (cols, n); both column-major, never aliased.
  virtual void transform(const float* X, int64_t cols, int64_t n, float* out) const = 0;
};


class Linear {
 public:
  Linear() = default;
  Linear(int64_t rows, int64_t cols, std::vector<float> w);  // w: (rows, cols) row-major, fp32

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int bits() const { return bits_; }
  double bytes() const;  // B held: 4 per fp32 weight, 2 per fp16 weight, or OPSC's quantized_matrix_bytes()
  const float* data() const { return w_.data(); }  // fp32 only
  float* data() { return w_.data(); }
  const uint16_t* half_data() const { return h_.data(); }  // fp16 only: (rows, cols) fp16 bits

  // Replaces the fp32 matrix by its fp16 rounding (bits 16, round to nearest even) or its OPSC quantization at
  // `bits` (2, 3, 4, 8) with groups of `group_size` inputs; 32 keeps fp32. InputError for other bit-widths, a
  // matrix already converted, or OPSC in a build without kernels/.
  void quantize(int bits, int group_size);

  // Y (rows, n) = W · X (cols, n), column-major; X goes through the input hook first when one is set.
  void apply(const float* X, int64_t n, float* Y) const;

  void set_input_hook(std::shared_ptr<const LinearInputHook> hook) { hook_ = std::move(hook); }
  const LinearInputHook* input_hook() const { return hook_.get(); }

 private:
  int64_t rows_ = 0, cols_ = 0;
  int bits_ = 32;
  std::vector<float> w_;  // (rows, cols) while fp32
  std::vector<uint16_t> h_;  // (rows, cols) fp16 bits when bits_ == 16
  std::shared_ptr<const QuantizedMatrix> q_;  // when quantized (shared: copies of a model share it)
  std::shared_ptr<const LinearInputHook> hook_;  // optional, see LinearInputHook
  const float* hooked(const float* X, int64_t n) const;  // X, or the hook's output in a per-thread buffer
  bool to_half(int bits);  // bits 16: converts to fp16 and returns true; otherwise false
};

}  // namespace splitsim
