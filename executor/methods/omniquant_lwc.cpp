// omniquant-lwc: the learnable weight clipping (LWC) of OmniQuant (Shao et al., ICLR 2024), weight-only.
// OmniQuant learns, by gradient descent through each transformer block, clipping strengths γ, β ∈ [0, 1] per
// group so that a group's quantization range is [β·min(W), γ·max(W)]. This is NOT done here: no gradient
// training. Instead, per output row and group, a grid search over (γ, β) ∈ kRatios² picks the pair that
// minimizes the layer's output error ||(W − Ŵ) X||² on calibration activations X — exactly, cross-group terms
// included, by two passes of coordinate descent over the groups of a row with H = X Xᵀ. X comes from the fp32
// model (OmniQuant feeds each block the outputs of the already-quantized blocks), and OmniQuant's learnable
// equivalent transformation (LET) is not part of this method.
// The clipped weights are stored in the kernels' packed group format (quantize_matrix reads the clipped range
// from the clamped values, so the search evaluates exactly the codes it will store); the head stays fp16 and
// the wire carries fp16, as a weight-only method leaves activations in 16 bits.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <memory>
#include <tuple>

#include <Eigen/Dense>

#include "executor/methods/calibration.hpp"
#include "executor/methods/fake_quant.hpp"
#include "executor/methods/method.hpp"

namespace splitsim {

namespace {

constexpr std::array<double, 8> kRatios = {1.0, 0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5};
constexpr int kPasses = 2;

// Clamps every group of W (rows, cols) to its searched range; W stays fp32, ready for the kernels' quantizer.
void clip_by_search(Linear& lin, const Eigen::MatrixXf& X, int bits, int group) {
  const int64_t rows = lin.rows(), cols = lin.cols();
  const Eigen::MatrixXd H = (X.cast<double>() * X.cast<double>().transpose()) / std::max<double>(1.0, double(X.cols()));
  const int64_t G = (cols + group - 1) / group;
  std::vector<float> cand(static_cast<size_t>(group));
  for (int64_t r = 0; r < rows; ++r) {
    float* w = lin.data() + r * cols;  // (cols)
    std::vector<std::pair<double, double>> choice(static_cast<size_t>(G), {1.0, 1.0});
    Eigen::VectorXd e(cols);  // Ŵ − W of the row under the current choices
    for (int64_t g = 0; g < G; ++g) {
      const int64_t c0 = g * group, n = std::min<int64_t>(group, cols - c0);
      weight_group_values(w + c0, n, bits, 1.0, 1.0, cand.data());
      for (int64_t i = 0; i < n; ++i) e[c0 + i] = double(cand[static_cast<size_t>(i)]) - double(w[c0 + i]);
    }
    for (int pass = 0; pass < kPasses; ++pass)
      for (int64_t g = 0; g < G; ++g) {
        const int64_t c0 = g * group, n = std::min<int64_t>(group, cols - c0);
        const auto Hgg = H.block(c0, c0, n, n);
        // Coupling to the other groups: c = H[g, :] e − H[g, g] e_g.
        const Eigen::VectorXd c = H.middleRows(c0, n) * e - Hgg * e.segment(c0, n);
        double best = 0;
        bool first = true;
        Eigen::VectorXd eg(n), best_e(n);
        for (double hi : kRatios)
          for (double lo : kRatios) {
            weight_group_values(w + c0, n, bits, lo, hi, cand.data());
            for (int64_t i = 0; i < n; ++i) eg[i] = double(cand[static_cast<size_t>(i)]) - double(w[c0 + i]);
            const double err = eg.dot(Hgg * eg) + 2.0 * eg.dot(c);
            if (first || err < best) {
              best = err;
              best_e = eg;
              choice[static_cast<size_t>(g)] = {lo, hi};
              first = false;
            }
          }
        e.segment(c0, n) = best_e;
      }
    for (int64_t g = 0; g < G; ++g) {
      const int64_t c0 = g * group, n = std::min<int64_t>(group, cols - c0);
      float lo = w[c0], hi = w[c0];
      for (int64_t i = 0; i < n; ++i) {
        lo = std::min(lo, w[c0 + i]);
        hi = std::max(hi, w[c0 + i]);
      }
      const auto [rl, rh] = choice[static_cast<size_t>(g)];
      const float clo = static_cast<float>(rl * lo), chi = static_cast<float>(rh * hi);
      for (int64_t i = 0; i < n; ++i) w[c0 + i] = std::clamp(w[c0 + i], clo, chi);
    }
  }
}

class OmniQuantLwc final : public Method {
 public:
  std::string_view name() const override { return "omniquant-lwc"; }
  std::string_view follows() const override {
    return "OmniQuant LWC, Shao et al. 2024 (clipping by per-group grid search, no gradient training)";
  }
  bool needs_calibration() const override { return true; }

  MethodSettings resolve(MethodSettings s) const override {
    if (s.edge_bits < 0) s.edge_bits = 4;
    if (s.cloud_bits < 0) s.cloud_bits = s.edge_bits;
    s.act_bits = 0;
    return s;
  }

  SplitModel build(const ModelWeights& reference, const MethodSettings& s, const Calibration* calib) const override {
    SplitModel out = split_parts(reference, s);
    for (auto [part, tally, bits] : {std::tuple{&out.edge, &out.edge_tally, s.edge_bits},
                                     std::tuple{&out.server, &out.server_tally, s.cloud_bits}})
      for (const LinearRef& r : layer_linears(*part)) {
        const int group = std::min<int>(s.group_size, static_cast<int>(r.linear->cols()));
        if (bits <= 8) clip_by_search(*r.linear, calib->layer(r.layer).of(r.input), bits, group);
        tally->add(r.linear->rows(), r.linear->cols(), quantize_packed_or_float(*r.linear, bits, group));
      }
    out.server_tally.add(out.server.head.rows(), out.server.head.cols(), quantize_packed_or_float(out.server.head, 16, 0));
    CodecSpec w = s.wire;
    w.codec = WireCodec::fp16;
    out.wire = wire_or_override(s, std::make_shared<KernelHiddenCodec>(w));
    out.notes = fmt::format("clip grid {}", fmt::join(kRatios, "/"));
    return out;
  }
};

}  // namespace

const Method& omniquant_lwc_method() {
  static const OmniQuantLwc m;
  return m;
}

}  // namespace splitsim
