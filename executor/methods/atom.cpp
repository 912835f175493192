// atom: Atom (Zhao et al., MLSys 2024), W4A4 with mixed-precision outlier channels. For every matrix input,
// the channels are reordered by their calibration magnitude (sum of squares, Atom's Hessian-diagonal metric);
// the largest --outlier-fraction of them (Atom keeps 128 of Llama-7B's 4096, 1/32; here at least one) are kept
// at 8 bits, the others are quantized in groups of --group-size consecutive reordered channels at 4 bits.
// The matrix's input columns are reordered the same way, so weights and activations share the split:
//   weights      outlier columns int8 symmetric per output row (one fp16 scale), the rest the kernels' group
//                format (asymmetric, fp16 scale + zero per group) at --edge-bits/--cloud-bits with the range
//                clipped by --weight-clip (0.85, Atom's released setting) — round-to-nearest: Atom runs GPTQ
//                on the weights, which is not done here (so its weight error is overstated);
//   activations  per token, outlier channels int8 symmetric, the rest per group asymmetric at --act-bits (4)
//                with the range clipped by --act-clip (0.9);
//   wire         the same format on the residual stream, its outlier channels from the calibration hidden state
//                at the split (AtomHiddenCodec: the channel order is fixed, so no index travels).
// All of it is simulated quantization. The head stays fp16; Atom's 4-bit KV cache is not applied (the executor
// keeps KV in fp32 for every method).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <tuple>

#include "core/error.hpp"
#include "executor/methods/calibration.hpp"
#include "executor/methods/fake_quant.hpp"
#include "executor/methods/method.hpp"
#include "core/formats/weight_format.hpp"

namespace splitsim {

namespace {

// Channels of X (cols, N) ordered by ascending sum of squares; the last k are the outliers.
AtomLayout layout_for(const Eigen::MatrixXf& X, double fraction, int bits, int group, double clip) {
  const auto cols = static_cast<int32_t>(X.rows());
  const Eigen::VectorXd energy = X.cast<double>().rowwise().squaredNorm();
  std::vector<int32_t> order(static_cast<size_t>(cols));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return energy[a] < energy[b]; });
  const auto k = std::max<int32_t>(fraction > 0 ? 1 : 0, static_cast<int32_t>(std::lround(fraction * cols)));
  AtomLayout a;
  a.normal.assign(order.begin(), order.end() - k);
  a.outliers.assign(order.end() - k, order.end());
  std::sort(a.outliers.begin(), a.outliers.end());
  a.bits = bits;
  a.group = std::max(1, std::min(group, static_cast<int>(a.normal.size())));
  a.clip = clip;
  return a;
}

class AtomActivationHook final : public LinearInputHook {
 public:
  explicit AtomActivationHook(AtomLayout a) : layout_(std::move(a)) {}
  void transform(const float* X, int64_t cols, int64_t n, float* out) const override {
    for (int64_t c = 0; c < n; ++c) atom_quantize_token(layout_, X + c * cols, out + c * cols);
  }

 private:
  AtomLayout layout_;
};

// W (rows, cols) in place in the layout's column order; returns the bytes of the stored format.
double quantize_weights(Linear& lin, const AtomLayout& a, int bits, double clip) {
  const int64_t rows = lin.rows(), cols = lin.cols(), k = static_cast<int64_t>(a.outliers.size());
  const int64_t n = static_cast<int64_t>(a.normal.size());
  std::vector<float> row(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    float* w = lin.data() + r * cols;
    for (int64_t i = 0; i < k; ++i) row[static_cast<size_t>(i)] = w[a.outliers[static_cast<size_t>(i)]];
    fake_quant_symmetric({row.data(), static_cast<size_t>(k)}, 8);
    for (int64_t i = 0; i < k; ++i) w[a.outliers[static_cast<size_t>(i)]] = row[static_cast<size_t>(i)];
    for (int64_t i = 0; i < n; ++i) row[static_cast<size_t>(i)] = w[a.normal[static_cast<size_t>(i)]];
    fake_quant_weight_groups(row.data(), 1, n, bits, a.group, clip, clip);
    for (int64_t i = 0; i < n; ++i) w[a.normal[static_cast<size_t>(i)]] = row[static_cast<size_t>(i)];
  }
  return static_cast<double>(rows * (k > 0 ? k + 2 : 0) + quantized_matrix_bytes(rows, n, bits, a.group));
}

class Atom final : public Method {
 public:
  std::string_view name() const override { return "atom"; }
  std::string_view follows() const override { return "Atom, Zhao et al. 2024 (W4A4, reordered 8-bit outlier channels)"; }
  bool needs_calibration() const override { return true; }

  MethodSettings resolve(MethodSettings s) const override {
    if (s.edge_bits < 0) s.edge_bits = 4;
    if (s.cloud_bits < 0) s.cloud_bits = s.edge_bits;
    if (s.act_bits < 0) s.act_bits = 4;
    return s;
  }

  SplitModel build(const ModelWeights& reference, const MethodSettings& s, const Calibration* calib) const override {
    for (int b : {s.edge_bits, s.cloud_bits})
      if (b > 8) throw InputError("--edge-bits/--cloud-bits: atom quantizes weights to 2..8 bits");
    if (s.act_bits == 0) throw InputError("--act-bits: atom quantizes activations; expected 2..8");
    SplitModel out = split_parts(reference, s);
    for (auto [part, tally, bits] : {std::tuple{&out.edge, &out.edge_tally, s.edge_bits},
                                     std::tuple{&out.server, &out.server_tally, s.cloud_bits}})
      for (const LinearRef& r : layer_linears(*part)) {
        const Eigen::MatrixXf& X = calib->layer(r.layer).of(r.input);
        AtomLayout act = layout_for(X, s.outlier_fraction, s.act_bits, s.group_size, s.act_clip);
        tally->add(r.linear->rows(), r.linear->cols(), quantize_weights(*r.linear, act, bits, s.weight_clip));
        r.linear->set_input_hook(std::make_shared<AtomActivationHook>(std::move(act)));
      }
    out.server_tally.add(out.server.head.rows(), out.server.head.cols(), quantize_packed_or_float(out.server.head, 16, 0));
    AtomLayout wire = layout_for(calib->hidden(s.split), s.outlier_fraction, s.act_bits, s.group_size, s.act_clip);
    out.notes = fmt::format("outliers={}/{} wclip={} aclip={}", wire.outliers.size(), reference.spec.dim, s.weight_clip,
                            s.act_clip);
    out.wire = wire_or_override(s, std::make_shared<AtomHiddenCodec>(std::move(wire)));
    return out;
  }
};

}  // namespace

const Method& atom_method() {
  static const Atom m;
  return m;
}

}  // namespace splitsim
