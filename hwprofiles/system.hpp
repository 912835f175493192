// A System: a Scenario with every name it references loaded (model, device and link profiles) and its
// strategy turned into a Plan. This is the resolved configuration that results are keyed by.
#pragma once
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/scenario.hpp"
#include "core/strategy.hpp"
#include "hwprofiles/hw_profile.hpp"
#include "models/model_spec.hpp"

namespace splitsim {

struct FleetGroup {
  DeviceGroup group;
  HwProfile device;
  LinkProfile link;
};

// A group of identical servers of the pool, its profile loaded.
struct ServerGroup {
  ServerGroupConfig config;  // group 0: the scenario's server.profile, max_batch and kv_memory
  HwProfile profile;
  std::optional<LinkProfile> link;  // router to each server of the group (config.link); none: no hop
};

struct System {
  Scenario scenario;
  ModelSpec model;
  Plan plan;
  std::vector<FleetGroup> fleet;
  HwProfile server;
  LinkProfile backbone;
  CodecStatistics codec_stats;  // what the wire sizes assume (core/codec.hpp); the scenario's by default
  std::vector<ServerGroup> server_groups;  // the pool; [0] is `server`
  int64_t server_count() const;
  // US dollars per hour of the whole pool (count x usd_per_hour of each group's profile); nothing when a
  // group's profile has no price.
  std::optional<double> server_usd_per_hour() const;
  // This system as its server group g sees it: `server` and the scenario's server keys are the group's.
  System for_server_group(size_t g) const;

  // Scenario + model + profiles + plan: everything that determines the results.
  nlohmann::json to_json() const;
  std::string hash() const;  // 16 hex digits of the canonical to_json()
};

// The plan's split from split.schedule, when the scenario gives one: split_layer becomes its first band's, and a
// schedule that moves is kept in the plan. InputError naming the key for a malformed schedule, a split that is not
// a split point of the model (`valid`: valid_split_layers(m), which callers in a loop compute once), or a moving
// schedule under a strategy that does not split.
void apply_split_schedule(const Scenario& sc, const ModelSpec& m, std::span<const int64_t> valid, Plan& plan);

// Loads everything the scenario names; InputError names the scenario file and key (model, edge.profile,
// split.layer out of the model's valid split points, ...).
System resolve_system(const Scenario& sc);

}  // namespace splitsim
