// split-uniform: one bit-width everywhere (edge and server weights at edge_bits), per-token uniform
// quantization of the hidden state at codec.uniform_bits, no outlier handling.
#include "core/scenario.hpp"
#include "core/strategy.hpp"

namespace splitsim {
StrategyInfo strategy_split_uniform() {
  return {"split-uniform", "one weight bit-width on both sides, uniform wire quantization",
          [](const Scenario& sc, int64_t) {
            Plan p;
            p.split_layer = sc.split.layer;
            p.edge_bits = sc.split.edge_bits;
            p.cloud_bits = sc.split.edge_bits;
            p.kv_bits = sc.split.kv_bits;
            p.wire = WireFormat::uniform;
            p.wire_bits = sc.codec.uniform_bits;
            return p;
          }};
}
}  // namespace splitsim
