// edge-only: the whole model on the device at edge_bits; no network, no server. Out of memory unless it fits.
#include "core/scenario.hpp"
#include "core/strategy.hpp"

namespace splitsim {
StrategyInfo strategy_edge_only() {
  return {"edge-only", "whole model on the device (OOM-checked)", [](const Scenario& sc, int64_t n_layers) {
            Plan p;
            p.split_layer = n_layers;
            p.server_has_head = false;
            p.edge_bits = sc.split.edge_bits;
            p.kv_bits = sc.split.kv_bits;
            p.wire = WireFormat::none;
            p.wire_bits = 0;
            return p;
          }};
}
}  // namespace splitsim
