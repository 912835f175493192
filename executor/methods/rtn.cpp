// rtn: the plain baseline every quantization paper starts from. Weights: group-wise asymmetric
// round-to-nearest along the input dimension (the kernels' OPSC packed format — OPSC's weight stage is this
// same quantizer, so rtn and opsc differ only where OPSC differs: the split precision and the wire), the same
// bit-width expected on both sides. Activations: per-token uniform (asymmetric) quantization, no outlier
// handling — on the wire through the kernels' uniform codec at --uniform-bits, and inside the layers when
// --act-bits is given (default: none, like opsc, so the two compare on the wire alone).
#include <memory>
#include <tuple>

#include "executor/methods/fake_quant.hpp"
#include "executor/methods/method.hpp"

namespace splitsim {

namespace {

class Rtn final : public Method {
 public:
  std::string_view name() const override { return "rtn"; }
  std::string_view follows() const override { return "round-to-nearest group-wise weights, per-token uniform activations"; }

  MethodSettings resolve(MethodSettings s) const override {
    if (s.edge_bits < 0) s.edge_bits = 4;
    if (s.cloud_bits < 0) s.cloud_bits = s.edge_bits;
    if (s.act_bits < 0) s.act_bits = 0;
    return s;
  }

  SplitModel build(const ModelWeights& reference, const MethodSettings& s, const Calibration*) const override {
    SplitModel out = split_parts(reference, s);
    std::shared_ptr<const LinearInputHook> act;
    if (s.act_bits > 0) act = std::make_shared<PerTokenAsymmetricHook>(s.act_bits);
    for (auto [part, tally, bits] : {std::tuple{&out.edge, &out.edge_tally, s.edge_bits},
                                     std::tuple{&out.server, &out.server_tally, s.cloud_bits}}) {
      for (const LinearRef& r : layer_linears(*part)) {
        tally->add(r.linear->rows(), r.linear->cols(), quantize_packed_or_float(*r.linear, bits, s.group_size));
        if (act) r.linear->set_input_hook(act);
      }
    }
    out.server_tally.add(out.server.head.rows(), out.server.head.cols(),
                         quantize_packed_or_float(out.server.head, s.cloud_bits, s.group_size));
    CodecSpec w = s.wire;
    w.codec = WireCodec::uniform;
    out.wire = wire_or_override(s, std::make_shared<KernelHiddenCodec>(w));
    return out;
  }
};

}  // namespace

const Method& rtn_method() {
  static const Rtn m;
  return m;
}

}  // namespace splitsim
