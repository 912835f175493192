// A linear layer y = W·x of the executor, and the one matrix-multiply kernel every layer goes through.
//
// The kernel is batch-invariant on purpose: a token's output column is computed with the same summation
// order whether it is multiplied alone or in a batch with other sessions' tokens. That is what lets a server
// batch the decode steps of several edge clients and still produce, token for token, the output of the
// unsplit model (a BLAS GEMM blocks the inner dimension differently for different batch sizes, and greedy
// argmax is sensitive to the last bit in near-ties).
#pragma once
#include <cstdint>
#include <vector>

namespace splitsim {

// Y (rows, n) = W (rows, cols) · X (cols, n). W row-major; X and Y column-major (one token per column).
// Each row's dot product runs over 16 interleaved partial sums, reduced in a fixed order, then the tail.
void matmul_fp32(const float* W, int64_t rows, int64_t cols, const float* X, int64_t n, float* Y);

class Linear {
 public:
  Linear() = default;
  Linear(int64_t rows, int64_t cols, std::vector<float> w);  // w: (rows, cols) row-major, fp32

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int bits() const { return 32; }
  double bytes() const { return static_cast<double>(w_.size() * sizeof(float)); }  // B held
  const float* data() const { return w_.data(); }
  float* data() { return w_.data(); }

  // Y (rows, n) = W · X (cols, n), column-major.
  void apply(const float* X, int64_t n, float* Y) const { matmul_fp32(w_.data(), rows_, cols_, X, n, Y); }

 private:
  int64_t rows_ = 0, cols_ = 0;
  std::vector<float> w_;  // (rows, cols)
};

}  // namespace splitsim
