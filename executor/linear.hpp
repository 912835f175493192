// A linear layer y = W·x of the executor, and the one matrix-multiply kernel every layer goes through.
//
// The kernel is batch-invariant on purpose: a token's output column is computed with the same summation
// order whether it is multiplied alone or in a batch with other sessions' tokens. That is what lets a server
// batch the decode steps of several edge clients and still produce, token for token, the output of the
// unsplit model (a BLAS GEMM blocks the inner dimension differently for different batch sizes, and greedy
// argmax is sensitive to the last bit in near-ties).
//
// A Linear holds either the fp32 matrix or, after quantize(), the OPSC packed matrix of kernels/opsc.hpp
// (group-wise asymmetric, 2/3/4/8 bits) whose fused dequantize-GEMV/GEMM runs on the packed codes.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

namespace splitsim {

// Y (rows, n) = W (rows, cols) · X (cols, n). W row-major; X and Y column-major (one token per column).
// Each row's dot product runs over 16 interleaved partial sums, reduced in a fixed order, then the tail.
void matmul_fp32(const float* W, int64_t rows, int64_t cols, const float* X, int64_t n, float* Y);

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

bool opsc_available();  // true when the build has kernels/

class Linear {
 public:
  Linear() = default;
  Linear(int64_t rows, int64_t cols, std::vector<float> w);  // w: (rows, cols) row-major, fp32

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int bits() const { return bits_; }
  double bytes() const;  // B held: fp32, or the packed format's quantized_matrix_bytes()
  const float* data() const { return w_.data(); }  // fp32 only
  float* data() { return w_.data(); }

  // Replaces the fp32 matrix by its OPSC quantization at `bits` (2, 3, 4, 8; 32 keeps fp32) with groups of
  // `group_size` inputs. InputError for other bit-widths or a build without kernels/.
  void quantize(int bits, int group_size);

  // Y (rows, n) = W · X (cols, n), column-major; X goes through the input hook first when one is set.
  void apply(const float* X, int64_t n, float* Y) const;

  void set_input_hook(std::shared_ptr<const LinearInputHook> hook) { hook_ = std::move(hook); }
  const LinearInputHook* input_hook() const { return hook_.get(); }

 private:
  int64_t rows_ = 0, cols_ = 0;
  int bits_ = 32;
  std::vector<float> w_;  // (rows, cols) while fp32
  std::shared_ptr<const QuantizedMatrix> q_;  // when quantized (shared: copies of a model share it)
  std::shared_ptr<const LinearInputHook> hook_;  // optional, see LinearInputHook
  const float* hooked(const float* X, int64_t n) const;  // X, or the hook's output in a per-thread buffer
};

}  // namespace splitsim
