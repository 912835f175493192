// Strategies: how a scenario's split settings become an execution Plan.
//
// A strategy decides which layers run where, at which weight precision, and what crosses the wire. The cost
// model, the simulator and the explorer all read the Plan, never the strategy name. Adding a strategy is one
// file in core/strategies/ and one line in the registry in core/strategy.cpp.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/codec.hpp"
#include "core/split_schedule.hpp"

namespace splitsim {

struct Scenario;

// What crosses the uplink per transmitted block.
enum class WireFormat {
  token_ids,  // cloud-only: the prompt's token ids, once; nothing per generated token
  none,       // edge-only: nothing
  fp16,       // the hidden state in fp16
  uniform,    // per-token uniform quantization at a fixed bit-width, no outlier handling
  ts_tabq,    // Threshold Splitting + Token-wise Adaptive Bit Quantization
  fp32,       // the hidden state in fp32 (lossless; the executor's passthrough)
};
const char* wire_format_name(WireFormat f);  // a hidden-state codec's name (core/codec.hpp) for those formats
// The codec that encodes a wire format's hidden state; nothing for token ids and for edge-only.
std::optional<WireCodec> hidden_codec(WireFormat f);

struct Plan {
  std::string strategy;
  int64_t split_layer = 0;       // layers [0, split_layer) on the edge, [split_layer, L) on the server
  // split.schedule: the split moves with the context (split_layer is its first band's); none: split_layer always.
  std::optional<SplitSchedule> schedule;
  // The edge's layers for a step whose last position is `position` (core/split_schedule.hpp): a decode step with
  // c tokens cached runs at split_at(c), a prompt of P tokens at split_at(P - 1).
  int64_t split_at(int64_t position) const { return schedule ? schedule->at(position) : split_layer; }
  // split.react_rate/react_window, when the schedule has windows (a band that moves early on a good link).
  std::optional<SplitReaction> reaction;
  // The lowest split the plan reaches: the server holds layers [lowest_split(), L).
  int64_t lowest_split() const { return schedule ? schedule->lowest() : split_layer; }
  bool edge_embeds = true;       // the edge holds the embedding table (false only for cloud-only)
  bool server_has_head = true;   // the server runs final norm + LM head (false only for edge-only)
  int64_t edge_bits = 16;
  int64_t cloud_bits = 16;
  int64_t kv_bits = 16;
  WireFormat wire = WireFormat::fp16;
  int64_t wire_bits = 16;        // uniform: bits per element
};

struct CodecConfig;  // core/scenario.hpp
// What the codec runs with for a plan: its wire format's codec, uniform at plan.wire_bits, ts-tabq with the
// scenario's [codec] table (validated, errors naming the [codec] key); InputError for plans that send no hidden
// state (token ids, edge-only).
CodecSpec codec_spec(const CodecConfig& c, const Plan& plan);

using StrategyFn = std::function<Plan(const Scenario&, int64_t n_layers)>;

struct StrategyInfo {
  std::string name;
  std::string summary;
  StrategyFn make;
};

const std::vector<StrategyInfo>& strategies();
std::vector<std::string> strategy_names();
// Throws InputError naming the scenario key split.strategy on an unknown name.
Plan make_plan(const Scenario& sc, int64_t n_layers);

}  // namespace splitsim
