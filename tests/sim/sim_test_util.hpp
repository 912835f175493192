// Helpers for the simulator tests: systems from inline scenario text, simulations in child processes.
#pragma once
#include <string>

#include "core/scenario.hpp"
#include "core/toml_reader.hpp"
#include "hwprofiles/system.hpp"
#include "sim/simulation.hpp"

namespace splitsim::test {

// A single device of `profile` on `link`, the paper's model and split; `extra` appends/overrides TOML lines.
inline std::string one_device(const std::string& strategy, const std::string& extra_workload = "") {
  return R"(name = "t-one"
model = "llama2-7b"
[edge]
profile = "jetson-xavier-nx"
link = "wifi5"
count = 1
[server]
profile = "a6000"
backbone = "ethernet-10g"
max_batch = 32
[split]
strategy = ")" + strategy + R"("
layer = 16
edge_bits = 4
cloud_bits = 8
[workload]
arrival = "closed"
requests_per_device = 1
prompt_tokens = 100
output_tokens = 40
max_seq_len = 512
)" + extra_workload;
}

inline System system_from(const std::string& text, const std::string& label = "test scenario") {
  return resolve_system(scenario_from_source(parse_toml_text(text, label)));
}

inline SimResult run_sim(const System& sys, bool full = false) {
  SimOptions o;
  o.full = full;
  return simulate_isolated(sys, o);
}

inline double rel(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-300); }

}  // namespace splitsim::test
