// split-fp16: plain split computing; fp16 weights on both sides and an fp16 hidden state on the wire.
#include "core/scenario.hpp"
#include "core/strategy.hpp"

namespace splitsim {
StrategyInfo strategy_split_fp16() {
  return {"split-fp16", "split at split.layer, fp16 weights, fp16 hidden state", [](const Scenario& sc, int64_t) {
            Plan p;
            p.split_layer = sc.split.layer;
            p.edge_bits = 16;
            p.cloud_bits = 16;
            p.kv_bits = sc.split.kv_bits;
            p.wire = WireFormat::fp16;
            p.wire_bits = 16;
            return p;
          }};
}
}  // namespace splitsim
