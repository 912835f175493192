// Simulated (fake) quantization for the methods whose formats the kernels do not have: a value is replaced by
// the value its code decodes to, so the fp32 forward pass computes what the quantized model would, while the
// size functions count the bytes of the real format. Scales, minima and steps are rounded to fp16, as they
// would be stored. The asymmetric quantizers are the kernels' own (kernels/quant_math.hpp): the weight group
// quantizer of OPSC and the per-token activation quantizer of the uniform / TAB-Q codec.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "executor/linear.hpp"

namespace splitsim {

// ---------------------------------------------------------------------------------------------- values

// Symmetric absmax: scale = fp16(max|x| / (2^(b-1) - 1)) rounded up, q = clamp(rint(x / scale)). In place.
void fake_quant_symmetric(std::span<float> x, int bits);
// Asymmetric over [clip * min, clip * max] with the kernels' activation quantizer (fp16 min rounded down,
// fp16 step rounded up, codes clamped to [0, 2^b - 1]). In place.
void fake_quant_asymmetric(std::span<float> x, int bits, double clip = 1.0);
void round_to_half(std::span<float> x);  // fp16 round trip

// ---------------------------------------------------------------------------------------------- weights
// w (rows, cols) row-major, in place; each returns the bytes of the stored format.

// Per output row (channel), symmetric: codes + one fp16 scale per row.
double fake_quant_weight_rows(float* w, int64_t rows, int64_t cols, int bits);
// The kernels' OPSC group format (asymmetric, fp16 scale + zero per group), with the group range clipped to
// [clip_lo * min, clip_hi * max] before quantizing, as OmniQuant's learnable weight clipping does.
double fake_quant_weight_groups(float* w, int64_t rows, int64_t cols, int bits, int group, double clip_lo = 1.0,
                                double clip_hi = 1.0);
// One group of n consecutive weights, clipped and quantized as the kernels' quantize_matrix would after the
// same clipping: out (n) = dequantized values.
void weight_group_values(const float* w, int64_t n, int bits, double clip_lo, double clip_hi, float* out);

// ---------------------------------------------------------------------------------------------- activations

// Per token (column), symmetric absmax at `bits`: SmoothQuant's dynamic per-token activations.
class PerTokenSymmetricHook final : public LinearInputHook {
 public:
  explicit PerTokenSymmetricHook(int bits) : bits_(bits) {}
  void transform(const float* X, int64_t cols, int64_t n, float* out) const override;

 private:
  int bits_;
};

// Per token, asymmetric at `bits` (the kernels' uniform codec quantizer): rtn's in-layer activations.
class PerTokenAsymmetricHook final : public LinearInputHook {
 public:
  explicit PerTokenAsymmetricHook(int bits) : bits_(bits) {}
  void transform(const float* X, int64_t cols, int64_t n, float* out) const override;

 private:
  int bits_;
};

// LLM.int8(): per token, entries with |x| > threshold stay fp16 (the outlier columns of the decomposition),
// the others are int8 symmetric absmax over the non-outliers. Outlier columns are chosen per token, which is
// what a batch of one (decode) does; bitsandbytes chooses them over the whole batch.
class Int8DecompositionHook final : public LinearInputHook {
 public:
  explicit Int8DecompositionHook(double threshold) : threshold_(static_cast<float>(threshold)) {}
  void transform(const float* X, int64_t cols, int64_t n, float* out) const override;

 private:
  float threshold_;
};

// Copies the input through and appends every column to `sink` (cols floats per token): calibration. The sink
// is written from a const method, so one recording model must run on one thread.
class RecordingHook final : public LinearInputHook {
 public:
  explicit RecordingHook(std::vector<float>* sink) : sink_(sink) {}
  void transform(const float* X, int64_t cols, int64_t n, float* out) const override;

 private:
  std::vector<float>* sink_;
};

}  // namespace splitsim
