// opsc: One-Point Split Compression — edge weights at edge_bits, server weights at cloud_bits (one precision
// change, at the split), and the hidden state compressed by Threshold Splitting + TAB-Q.
#include "core/scenario.hpp"
#include "core/strategy.hpp"

namespace splitsim {
StrategyInfo strategy_opsc() {
  return {"opsc", "OPSC mixed-precision weights + TS + TAB-Q on the wire", [](const Scenario& sc, int64_t) {
            Plan p;
            p.split_layer = sc.split.layer;
            p.edge_bits = sc.split.edge_bits;
            p.cloud_bits = sc.split.cloud_bits;
            p.kv_bits = sc.split.kv_bits;
            p.wire = WireFormat::ts_tabq;
            p.wire_bits = 0;  // adaptive: see CodecConfig
            return p;
          }};
}
}  // namespace splitsim
