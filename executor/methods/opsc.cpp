// opsc: this project's One-Point Split Compression (DESIGN.md; Sung et al., arXiv 2511.04002). Edge weights
// at b_e bits and server weights (with the head) at b_c bits in the kernels' packed group-wise format — one
// precision change, at the split — and the hidden state through Threshold Splitting + TAB-Q (the kernels'
// codec, --ts-mode / --ts-threshold / --tabq-eps / --tabq-bits). No activation quantization inside the layers:
// compute stays in floating point on both sides; only the wire is compressed.
#include <memory>

#include "executor/methods/method.hpp"

namespace splitsim {

namespace {

class Opsc final : public Method {
 public:
  std::string_view name() const override { return "opsc"; }
  std::string_view follows() const override { return "OPSC weights + TS + TAB-Q (Sung et al., arXiv 2511.04002)"; }

  MethodSettings resolve(MethodSettings s) const override {
    if (s.edge_bits < 0) s.edge_bits = 4;
    if (s.cloud_bits < 0) s.cloud_bits = 8;
    s.act_bits = 0;
    return s;
  }

  SplitModel build(const ModelWeights& reference, const MethodSettings& s, const Calibration*) const override {
    SplitModel out = split_parts(reference, s);
    for (const LinearRef& r : layer_linears(out.edge))
      out.edge_tally.add(r.linear->rows(), r.linear->cols(), quantize_packed_or_float(*r.linear, s.edge_bits, s.group_size));
    for (const LinearRef& r : layer_linears(out.server))
      out.server_tally.add(r.linear->rows(), r.linear->cols(), quantize_packed_or_float(*r.linear, s.cloud_bits, s.group_size));
    out.server_tally.add(out.server.head.rows(), out.server.head.cols(),
                         quantize_packed_or_float(out.server.head, s.cloud_bits, s.group_size));
    CodecSpec w = s.wire;
    w.codec = WireCodec::ts_tabq;
    out.wire = wire_or_override(s, std::make_shared<KernelHiddenCodec>(w));
    return out;
  }
};

}  // namespace

const Method& opsc_method() {
  static const Opsc m;
  return m;
}

}  // namespace splitsim
