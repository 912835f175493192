// Calibration data of the methods that need it (SmoothQuant's smoothing factors, OmniQuant's clipping search,
// Atom's outlier channels): the inputs every layer matrix of the fp32 model sees on calibration streams, and
// the hidden state at a split point. The streams are sampled from the fp32 model with their own seed, so they
// are never the evaluation streams (method_run.cpp checks that the seed ranges do not overlap).
#pragma once
#include <cstdint>
#include <map>
#include <vector>

#include <Eigen/Core>

#include "executor/methods/method.hpp"
#include "executor/weights.hpp"

namespace splitsim {

struct LayerInputs {
  Eigen::MatrixXf attn_in;   // (d, N)     input of wq, wk, wv: rmsnorm(x) ⊙ rms_att
  Eigen::MatrixXf attn_out;  // (h*hd, N)  input of wo: the attention output
  Eigen::MatrixXf ffn_in;    // (d, N)     input of w1, w3: rmsnorm(x) ⊙ rms_ffn
  Eigen::MatrixXf ffn_mid;   // (f, N)     input of w2: silu(w1 x) ⊙ w3 x
  const Eigen::MatrixXf& of(LinearInput in) const;
};

class Calibration {
 public:
  // Runs `reference` (the whole fp32 model, kept by pointer: it must outlive this) over the streams, each as
  // one prefill block, recording every layer's matrix inputs.
  Calibration(const ModelWeights& reference, std::vector<std::vector<int32_t>> streams);

  int64_t tokens() const { return tokens_; }
  const LayerInputs& layer(int64_t l) const { return layers_.at(static_cast<size_t>(l)); }
  // (d, N): the residual stream after layers [0, split) — what the edge sends — computed once per split.
  const Eigen::MatrixXf& hidden(int64_t split) const;

 private:
  const ModelWeights* reference_;
  std::vector<std::vector<int32_t>> streams_;
  int64_t tokens_ = 0;
  std::vector<LayerInputs> layers_;  // (L)
  mutable std::map<int64_t, Eigen::MatrixXf> hidden_;
};

}  // namespace splitsim
