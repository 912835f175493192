#include "core/strategy.hpp"

#include "core/error.hpp"
#include "core/scenario.hpp"

namespace splitsim {

// Each strategy lives in core/strategies/<name>.cpp.
StrategyInfo strategy_cloud_only();
StrategyInfo strategy_edge_only();
StrategyInfo strategy_split_fp16();
StrategyInfo strategy_split_uniform();
StrategyInfo strategy_opsc();
StrategyInfo strategy_split_fp32();

const std::vector<StrategyInfo>& strategies() {
  static const std::vector<StrategyInfo> registry = {
      strategy_cloud_only(), strategy_edge_only(), strategy_split_fp16(), strategy_split_uniform(), strategy_opsc(),
      strategy_split_fp32(),
  };
  return registry;
}

std::vector<std::string> strategy_names() {
  std::vector<std::string> out;
  for (const auto& s : strategies()) out.push_back(s.name);
  return out;
}

std::optional<WireCodec> hidden_codec(WireFormat f) {
  switch (f) {
    case WireFormat::fp32: return WireCodec::fp32;
    case WireFormat::fp16: return WireCodec::fp16;
    case WireFormat::uniform: return WireCodec::uniform;
    case WireFormat::ts_tabq: return WireCodec::ts_tabq;
    case WireFormat::token_ids:
    case WireFormat::none: break;
  }
  return std::nullopt;
}

const char* wire_format_name(WireFormat f) {
  if (auto c = hidden_codec(f)) return wire_codec_name(*c);
  return f == WireFormat::token_ids ? "token-ids" : "none";
}

CodecSpec codec_spec(const CodecConfig& c, const Plan& plan) {
  const auto codec = hidden_codec(plan.wire);
  if (!codec)
    throw_input("codec", "plan.wire", "a plan that sends a hidden state (" + wire_codec_names() + ")",
                wire_format_name(plan.wire));
  CodecSpec s;
  s.codec = *codec;
  if (s.codec == WireCodec::uniform) s.uniform_bits = static_cast<int>(plan.wire_bits);
  if (s.codec == WireCodec::ts_tabq) {
    s.ts_mode = parse_ts_mode(c.ts_mode);
    s.ts_threshold = c.ts_threshold;
    s.tabq_eps = c.tabq_eps;
    s.tabq_bits.assign(c.tabq_bits.begin(), c.tabq_bits.end());
  }
  s.validate(codec_key);
  return s;
}

Plan make_plan(const Scenario& sc, int64_t n_layers) {
  for (const auto& s : strategies())
    if (s.name == sc.split.strategy) {
      Plan p = s.make(sc, n_layers);
      p.strategy = s.name;
      return p;
    }
  std::string list;
  for (const auto& n : strategy_names()) list += (list.empty() ? "" : "|") + n;
  throw_input(sc.where("split.strategy"), "split.strategy", "one of " + list, "\"" + sc.split.strategy + "\"");
}

}  // namespace splitsim
