// `splitsim bench sim`: the simulator's speed on large fleets (wall time, simulated decode steps per wall
// second, peak RSS), each case in its own child process.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace splitsim {

struct SimBenchCase {
  int64_t devices = 10000;
  int64_t tokens = 128;
  int64_t cell_size = 20;     // devices per shared Wi-Fi 6 cell (contended uplinks); 0 = private links
  std::string backbone = "ethernet-10g";
  bool full = false;          // the reference full-SimGrid mode
  int64_t servers = 1;        // A6000s in the pool
  std::string router = "round-robin";  // how the pool is shared (server.router)
  std::string scenario;       // instead of the above: this scenario file (e.g. a trace replay)
  std::vector<std::string> sets;  // --set overrides of that scenario
};

// The benchmark's scenario: TinyLlama split after 4 layers, Raspberry Pi 5 devices, A6000 server.
std::string sim_bench_scenario(const SimBenchCase& c);

// Runs one case in a child process; returns the measured figures.
nlohmann::json run_sim_bench(const SimBenchCase& c);

}  // namespace splitsim
