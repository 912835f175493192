// split-fp32: plain split computing without any quantization; fp32 weights on both sides and the fp32 hidden
// state on the wire. The executor's lossless passthrough baseline, so the simulator can be validated on it.
#include "core/scenario.hpp"
#include "core/strategy.hpp"

namespace splitsim {
StrategyInfo strategy_split_fp32() {
  return {"split-fp32", "split at split.layer, fp32 weights, fp32 hidden state", [](const Scenario& sc, int64_t) {
            Plan p;
            p.split_layer = sc.split.layer;
            p.edge_bits = 32;
            p.cloud_bits = 32;
            p.kv_bits = sc.split.kv_bits;
            p.wire = WireFormat::fp32;
            p.wire_bits = 32;
            return p;
          }};
}
}  // namespace splitsim
