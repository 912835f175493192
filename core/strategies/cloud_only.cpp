// cloud-only: the device sends its prompt's token ids; the server runs the whole model at cloud_bits and
// streams generated tokens back. The baseline that loads the server most.
#include "core/scenario.hpp"
#include "core/strategy.hpp"

namespace splitsim {
StrategyInfo strategy_cloud_only() {
  return {"cloud-only", "whole model on the server; token ids up, tokens down", [](const Scenario& sc, int64_t) {
            Plan p;
            p.split_layer = 0;
            p.edge_embeds = false;
            p.cloud_bits = sc.split.cloud_bits;
            p.kv_bits = sc.split.kv_bits;
            p.wire = WireFormat::token_ids;
            p.wire_bits = 32;
            return p;
          }};
}
}  // namespace splitsim
