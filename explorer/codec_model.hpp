// Expected statistics of the TS + TAB-Q codec (and of plain uniform quantization) on a hidden state, from an
// activation model, for the analytic screen: bits per element, outliers per token, and the relative MSE the
// codec adds to the dense part. The simulator and cost model read only codec.mean_bits and
// codec.outliers_per_token; the optimizer sets them from this model for each codec setting it screens.
//
// Activation model (accuracy_estimates.toml [activations], each value an assumption with its reasoning): a
// token's d values are a Gaussian bulk N(0, sigma^2) plus `massive_channels` channels of magnitude
// `massive_ratio * sigma` (the few very large residual-stream channels of Llama models).
#pragma once
#include <cstdint>

#include "core/scenario.hpp"

namespace splitsim {

struct ActivationModel {
  double sigma = 1.0;           // absolute scale of the bulk (for ts_mode = fixed)
  double massive_channels = 4;  // per token
  double massive_ratio = 100;   // |x| / sigma of those channels
};

// Not kernels/codec.hpp's CodecStats (what a real encode measured): what the activation model expects.
struct CodecEstimate {
  double mean_bits = 16;          // bits per dense element
  double outliers_per_token = 0;
  double relative_mse = 0;        // codec error / bulk variance
};

// TS (ts_mode, ts_threshold) then TAB-Q (tabq_eps, tabq_bits) on a d-wide token.
CodecEstimate tabq_stats(const CodecConfig& c, int64_t d, const ActivationModel& a);
// Per-token uniform quantization at `bits` with no outlier handling (split-uniform).
CodecEstimate uniform_stats(int bits, int64_t d, const ActivationModel& a);

}  // namespace splitsim
