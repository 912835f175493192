#include "hwprofiles/system.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "core/error.hpp"
#include "core/output.hpp"
#include "models/layer_graph.hpp"

namespace splitsim {
namespace {

// Re-throws a loader's "unknown X" error as a scenario error naming the key that referenced it.
template <class F>
auto named(const Scenario& sc, const std::string& key, F&& load) {
  try {
    return load();
  } catch (const InputError& e) {
    std::string msg = e.what();
    if (msg.rfind("unknown ", 0) == 0) throw InputError(fmt::format("{}: {}: {}", sc.where(key), key, msg));
    throw;
  }
}

}  // namespace

System resolve_system(const Scenario& sc) {
  System s;
  s.scenario = sc;
  s.codec_stats = sc.codec.expected;
  s.model = named(sc, "model", [&] { return load_model(sc.model); });
  bool single = sc.fleet.size() == 1 && sc.fleet[0].name == "edge";
  for (size_t i = 0; i < sc.fleet.size(); ++i) {
    const auto& g = sc.fleet[i];
    std::string prefix = single ? "edge" : fmt::format("edge.groups[{}]", i);
    FleetGroup fg{g, named(sc, prefix + ".profile", [&] { return load_hw_profile(g.profile); }),
                  named(sc, prefix + ".link", [&] { return load_link(g.link); })};
    if (fg.device.kind != "edge")
      throw_input(sc.where(prefix + ".profile"), prefix + ".profile", "an edge device profile",
                  fmt::format("\"{}\" (a {} profile)", g.profile, fg.device.kind));
    if (!g.power_mode.empty()) {
      try {
        fg.device = in_power_mode(fg.device, g.power_mode);
      } catch (const std::invalid_argument& e) {
        throw_input(sc.where(prefix + ".power_mode"), prefix + ".power_mode", e.what(), quoted_input(g.power_mode));
      }
    }
    s.fleet.push_back(std::move(fg));
  }
  s.server = named(sc, "server.profile", [&] { return load_hw_profile(sc.server.profile); });
  s.backbone = named(sc, "server.backbone", [&] { return load_link(sc.server.backbone); });
  for (size_t i = 0; i < sc.server.groups.size(); ++i) {
    ServerGroup g{sc.server.groups[i], s.server, std::nullopt};
    if (i == 0) {
      g.config.profile = sc.server.profile, g.config.max_batch = sc.server.max_batch, g.config.kv_memory = sc.server.kv_memory;
    } else {
      const std::string key = fmt::format("server.groups[{}].profile", i);
      g.profile = named(sc, key, [&] { return load_hw_profile(g.config.profile); });
    }
    if (!g.config.link.empty()) {
      const std::string key = fmt::format("server.groups[{}].link", i);
      g.link = named(sc, key, [&] { return load_link(g.config.link); });
      if (g.link->trace) throw_input(sc.where(key), key, "a constant link", quoted_input(g.config.link) + " (it follows a trace)");
    }
    s.server_groups.push_back(std::move(g));
  }

  auto valid = valid_split_layers(s.model);
  if (sc.split.schedule.empty() && std::find(valid.begin(), valid.end(), sc.split.layer) == valid.end()) {
    throw_input(sc.where("split.layer"), "split.layer",
                fmt::format("a split point of {} (0..{})", s.model.name, s.model.n_layers),
                std::to_string(sc.split.layer));
  }
  if (sc.workload.max_seq_len > s.model.max_seq_len)
    throw_input(sc.where("workload.max_seq_len"), "workload.max_seq_len",
                fmt::format("at most the model's context length ({})", s.model.max_seq_len),
                std::to_string(sc.workload.max_seq_len));
  s.plan = make_plan(sc, s.model.n_layers);
  apply_split_schedule(sc, s.model, valid, s.plan);
  return s;
}

void apply_split_schedule(const Scenario& sc, const ModelSpec& m, std::span<const int64_t> valid, Plan& plan) {
  const auto no_windows = [&] {
    if (sc.split.react_rate > 0)
      throw_input(sc.where("split.react_rate"), "split.react_rate",
                  "a split.schedule with a window to react with (EARLIEST-CONTEXT:SPLIT, like \"0:24,1024-2048:20\")",
                  sc.split.schedule.empty() ? std::string("no schedule") : quoted_input(sc.split.schedule));
  };
  if (sc.split.schedule.empty()) return no_windows();
  SplitSchedule schedule =
      SplitSchedule::parse(sc.split.schedule, m.n_layers, sc.where("split.schedule") + ": split.schedule");
  for (const SplitBand& b : schedule.bands())
    if (std::find(valid.begin(), valid.end(), b.split) == valid.end())
      throw_input(sc.where("split.schedule"), "split.schedule",
                  fmt::format("split points of {} (0..{})", m.name, m.n_layers), quoted_input(sc.split.schedule));
  plan.split_layer = schedule.first();
  if (!schedule.moves()) return no_windows();  // one band: a static split
  // Only a split strategy has layers to hand over: cloud-only and edge-only place every layer once.
  if (!hidden_codec(plan.wire) || !plan.edge_embeds || !plan.server_has_head)
    throw_input(sc.where("split.schedule"), "split.schedule", "a split strategy (not cloud-only or edge-only)",
                fmt::format("{} with strategy {}", quoted_input(sc.split.schedule), plan.strategy));
  if (!schedule.reacts()) no_windows();
  else if (sc.split.react_rate <= 0)
    throw_input(sc.where("split.react_rate"), "split.react_rate",
                "the uplink rate at which the schedule's windows move early, like \"4Mbps\"", "none");
  else
    plan.reaction = SplitReaction{sc.split.react_rate, sc.split.react_window};
  plan.schedule = std::move(schedule);
}

nlohmann::json System::to_json() const {
  nlohmann::json fleet_j = nlohmann::json::array();
  for (const auto& g : fleet) fleet_j.push_back({{"device", g.device.to_json()}, {"link", g.link.to_json()}});
  nlohmann::json plan_j{{"strategy", plan.strategy}, {"split_layer", plan.split_layer}, {"edge_embeds", plan.edge_embeds},
                        {"server_has_head", plan.server_has_head}, {"edge_bits", plan.edge_bits},
                        {"cloud_bits", plan.cloud_bits}, {"kv_bits", plan.kv_bits},
                        {"wire", wire_format_name(plan.wire)}, {"wire_bits", plan.wire_bits}};
  if (plan.schedule) plan_j["schedule"] = plan.schedule->to_string();  // absent: as before
  if (plan.reaction) plan_j["react_rate"] = plan.reaction->min_rate, plan_j["react_window"] = plan.reaction->window;
  return {{"scenario", scenario.to_json()},
          {"model", model.to_json()},
          {"plan",
           plan_j},
          {"fleet", fleet_j},
          {"server", server.to_json()},
          {"backbone", backbone.to_json()},
          {"codec_stats", codec_stats.to_json()}};
}

int64_t System::server_count() const {
  int64_t n = 0;
  for (const auto& g : server_groups) n += g.config.count;
  return std::max<int64_t>(n, 1);
}

std::optional<double> System::server_usd_per_hour() const {
  double sum = 0;
  for (const auto& g : server_groups) {
    if (!g.profile.usd_per_hour) return std::nullopt;
    sum += static_cast<double>(g.config.count) * g.profile.usd_per_hour->value;
  }
  return sum;
}

System System::for_server_group(size_t g) const {
  System s = *this;
  const ServerGroup& sg = server_groups.at(g);
  if (sg.config.cloud_bits > 0 && sg.config.cloud_bits != s.scenario.split.cloud_bits) {
    s.scenario.split.cloud_bits = sg.config.cloud_bits;  // the group's own weight precision
    s.plan = make_plan(s.scenario, s.model.n_layers);
  }
  if (g == 0) return s;  // the first group is the system's own server and server keys, as set (also after loading)
  s.server = sg.profile;
  s.server_groups[0].link = sg.link;  // the router's hop to this group's servers (CostModel::router_hop)
  s.scenario.server.profile = sg.config.profile;
  s.scenario.server.max_batch = sg.config.max_batch;
  s.scenario.server.kv_memory = sg.config.kv_memory;
  return s;
}

std::string System::hash() const {
  nlohmann::json j = to_json();
  j["scenario"].erase("description");  // prose does not change results
  return hash_json(j);
}

}  // namespace splitsim
