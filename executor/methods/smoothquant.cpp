// smoothquant: SmoothQuant (Xiao et al., ICML 2023), W8A8. Activation outliers are migrated into the weights
// with per-input-channel factors from calibration activations,
//     s_j = max|X_j|^α / max|W_j|^(1−α)   (α = --smooth-alpha, 0.5; both maxima clamped at 1e-5 as the
//                                           reference implementation does),
// folded into the preceding RMSNorm weights (rms_j /= s_j) and the matrices that read them (W[:, j] *= s_j),
// so the fp32 model is unchanged and X/s is easier to quantize. As the reference implementation does for
// Llama, the attention input (wq, wk, wv after rms_att) and the MLP input (w1, w3 after rms_ffn) are smoothed;
// wo and w2 have no preceding scale to fold into and are quantized unsmoothed.
// Then every layer matrix: weights symmetric per output channel at 8 bits (finer than the paper's per-tensor
// O1-O3 settings, so at least as accurate), activations symmetric per token (dynamic, like O1) at --act-bits
// (8) — simulated quantization. The head stays fp16, as in the paper. The wire carries the residual stream,
// which is not smoothable (RMSNorm is not channel-wise linear), at 8 bits per token: the kernels' uniform
// codec (asymmetric, a little finer than symmetric int8).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <tuple>

#include "core/error.hpp"
#include "executor/methods/calibration.hpp"
#include "executor/methods/fake_quant.hpp"
#include "executor/methods/method.hpp"

namespace splitsim {

namespace {

// s (cols) for the matrices `ws` reading activations X (cols, N).
std::vector<float> smoothing_factors(const Eigen::MatrixXf& X, std::initializer_list<const Linear*> ws, double alpha) {
  const int64_t cols = X.rows();
  std::vector<float> s(static_cast<size_t>(cols));
  for (int64_t j = 0; j < cols; ++j) {
    const double xmax = std::max<double>(X.row(j).cwiseAbs().maxCoeff(), 1e-5);
    double wmax = 0;
    for (const Linear* w : ws)
      for (int64_t r = 0; r < w->rows(); ++r) wmax = std::max<double>(wmax, std::abs(w->data()[r * cols + j]));
    wmax = std::max(wmax, 1e-5);
    s[static_cast<size_t>(j)] = static_cast<float>(std::max(std::pow(xmax, alpha) / std::pow(wmax, 1 - alpha), 1e-5));
  }
  return s;
}

void fold(std::vector<float>& norm, std::initializer_list<Linear*> ws, const std::vector<float>& s) {
  const auto cols = static_cast<int64_t>(s.size());
  for (int64_t j = 0; j < cols; ++j) norm[static_cast<size_t>(j)] /= s[static_cast<size_t>(j)];
  for (Linear* w : ws)
    for (int64_t r = 0; r < w->rows(); ++r)
      for (int64_t j = 0; j < cols; ++j) w->data()[r * cols + j] *= s[static_cast<size_t>(j)];
}

class SmoothQuant final : public Method {
 public:
  std::string_view name() const override { return "smoothquant"; }
  std::string_view follows() const override { return "SmoothQuant, Xiao et al. 2023 (W8A8, smoothing folded into RMSNorm)"; }
  bool needs_calibration() const override { return true; }

  MethodSettings resolve(MethodSettings s) const override {
    if (s.edge_bits < 0) s.edge_bits = 8;
    if (s.cloud_bits < 0) s.cloud_bits = s.edge_bits;
    if (s.act_bits < 0) s.act_bits = 8;
    return s;
  }

  SplitModel build(const ModelWeights& reference, const MethodSettings& s, const Calibration* calib) const override {
    ModelWeights smooth = reference;
    for (int64_t l = 0; l < smooth.spec.n_layers; ++l) {
      LayerWeights& lw = smooth.layers[static_cast<size_t>(l)];
      const LayerInputs& in = calib->layer(l);
      fold(lw.rms_att, {&lw.wq, &lw.wk, &lw.wv}, smoothing_factors(in.attn_in, {&lw.wq, &lw.wk, &lw.wv}, s.smooth_alpha));
      fold(lw.rms_ffn, {&lw.w1, &lw.w3}, smoothing_factors(in.ffn_in, {&lw.w1, &lw.w3}, s.smooth_alpha));
    }
    SplitModel out = split_parts(smooth, s);
    std::shared_ptr<const LinearInputHook> act;
    if (s.act_bits > 0) act = std::make_shared<PerTokenSymmetricHook>(s.act_bits);
    for (auto [part, tally, bits] : {std::tuple{&out.edge, &out.edge_tally, s.edge_bits},
                                     std::tuple{&out.server, &out.server_tally, s.cloud_bits}})
      for (const LinearRef& r : layer_linears(*part)) {
        // 16 and 32 leave the smoothed weights in floating point (the folding alone is then lossless).
        tally->add(r.linear->rows(), r.linear->cols(),
                   bits >= 16 ? quantize_packed_or_float(*r.linear, bits, s.group_size)
                              : fake_quant_weight_rows(r.linear->data(), r.linear->rows(), r.linear->cols(), bits));
        if (act) r.linear->set_input_hook(act);
      }
    out.server_tally.add(out.server.head.rows(), out.server.head.cols(), quantize_packed_or_float(out.server.head, 16, 0));
    CodecSpec w = s.wire;
    w.codec = WireCodec::uniform;
    out.wire = wire_or_override(s, std::make_shared<KernelHiddenCodec>(w));
    out.notes = fmt::format("alpha={}", s.smooth_alpha);
    return out;
  }
};

}  // namespace

const Method& smoothquant_method() {
  static const SmoothQuant m;
  return m;
}

}  // namespace splitsim
