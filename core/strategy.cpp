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

const char* wire_format_name(WireFormat f) {
  switch (f) {
    case WireFormat::token_ids: return "token-ids";
    case WireFormat::none: return "none";
    case WireFormat::fp16: return "fp16";
    case WireFormat::uniform: return "uniform";
    case WireFormat::ts_tabq: return "ts+tabq";
    case WireFormat::fp32: return "fp32";
  }
  return "?";
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
