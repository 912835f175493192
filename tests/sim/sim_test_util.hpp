// Helpers for the simulator tests: systems from inline scenario text, simulations in child processes.
#pragma once
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "core/scenario.hpp"
#include "core/toml_reader.hpp"
#include "hwprofiles/measured_tables.hpp"
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

// Hand-written measured tables: a memory table (B/s for one thread and for all) and the transport every table file
// has (s per message either way at one client, s per byte).
inline std::shared_ptr<const MeasuredTables> measured_tables(double read_single, double read_all,
                                                             double message_s = 0, double per_byte_s = 0) {
  const auto dir = std::filesystem::temp_directory_path() / "splitsim-test-sim";
  std::filesystem::create_directories(dir);
  const std::string path =
      (dir / fmt::format("tables-{}-{}-{}-{}.toml", read_single, read_all, message_s, per_byte_s)).string();
  std::ofstream(path) << fmt::format(R"([executor]
version = 2
host = "testhost"
date = "2026-01-01T00:00:00Z"
command = "hand-written for tests"
cores = 2
[executor.memory]
source = "hand-written"
read_single_Bps = {}
read_all_Bps = {}
threads = 2
[executor.transport]
source = "hand-written"
clients = [1]
round_trip_s = [{}]
per_byte_s = {}
)",
                                     read_single, read_all, 2 * message_s, per_byte_s);
  return load_measured_tables(path);
}

inline double rel(double a, double b) { return std::abs(a - b) / std::max(std::abs(b), 1e-300); }

}  // namespace splitsim::test
