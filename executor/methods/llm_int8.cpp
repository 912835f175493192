// llm-int8: LLM.int8() (Dettmers et al., NeurIPS 2022). Every layer matrix: weights int8 symmetric per output
// row (vector-wise); activations decomposed per token — entries with |x| > 6.0 (--int8-threshold) stay fp16,
// the rest int8 symmetric absmax — simulated quantization. The outlier columns multiply the int8-dequantized
// weights, as bitsandbytes' inference path does (it keeps only the int8 weights). The head stays fp16
// (bitsandbytes skips lm_head). The wire applies the same decomposition to the residual stream: the kernels'
// TS + TAB-Q codec in fixed mode with tau = the threshold and TAB-Q restricted to 8 bits, i.e. outliers exact
// as (column, fp16) pairs and 8-bit codes for the rest (asymmetric per token rather than absmax: a little finer).
#include <fmt/format.h>

#include <memory>
#include <tuple>

#include "core/error.hpp"
#include "executor/methods/fake_quant.hpp"
#include "executor/methods/method.hpp"

namespace splitsim {

namespace {

class LlmInt8 final : public Method {
 public:
  std::string_view name() const override { return "llm-int8"; }
  std::string_view follows() const override { return "LLM.int8(), Dettmers et al. 2022 (|x| > 6 outliers in fp16, int8 rest)"; }

  MethodSettings resolve(MethodSettings s) const override {
    if (s.edge_bits < 0) s.edge_bits = 8;
    if (s.cloud_bits < 0) s.cloud_bits = 8;
    s.act_bits = 8;
    return s;
  }

  SplitModel build(const ModelWeights& reference, const MethodSettings& s, const Calibration*) const override {
    if (s.edge_bits != 8 || s.cloud_bits != 8) throw InputError("--edge-bits/--cloud-bits: llm-int8 is an 8-bit method");
    SplitModel out = split_parts(reference, s);
    auto act = std::make_shared<Int8DecompositionHook>(s.int8_threshold);
    for (auto [part, tally] : {std::pair{&out.edge, &out.edge_tally}, std::pair{&out.server, &out.server_tally}})
      for (const LinearRef& r : layer_linears(*part)) {
        tally->add(r.linear->rows(), r.linear->cols(),
                   fake_quant_weight_rows(r.linear->data(), r.linear->rows(), r.linear->cols(), 8));
        r.linear->set_input_hook(act);
      }
    out.server_tally.add(out.server.head.rows(), out.server.head.cols(), quantize_packed_or_float(out.server.head, 16, 0));
    CodecSpec w = s.wire;
    w.codec = WireCodec::ts_tabq;
    w.ts_mode = TsMode::fixed;
    w.ts_threshold = s.int8_threshold;
    w.tabq_bits = {8};
    out.wire = wire_or_override(s, std::make_shared<KernelHiddenCodec>(w));
    out.notes = fmt::format("threshold={}", s.int8_threshold);
    return out;
  }
};

}  // namespace

const Method& llm_int8_method() {
  static const LlmInt8 m;
  return m;
}

}  // namespace splitsim
