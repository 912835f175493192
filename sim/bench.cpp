// Simulator benchmark: a large fleet (contended Wi-Fi cells, a batched server) simulated in a child process,
// timed on the wall clock, with the child's peak RSS from getrusage.
#include "sim/bench.hpp"

#include <fmt/format.h>

#include "core/scenario.hpp"
#include "core/toml_reader.hpp"
#include "hwprofiles/system.hpp"
#include "sim/simulation.hpp"

namespace splitsim {

std::string sim_bench_scenario(const SimBenchCase& c) {
  return fmt::format(R"(name = "bench-sim-{}x{}"
seed = 11
model = "tinyllama-1.1b"
[edge]
profile = "raspberry-pi-5"
link = "wifi6"
count = {}
cell_size = {}
[server]
backbone = "{}"
router = "{}"
[[server.groups]]
profile = "a6000"
count = {}
max_batch = 64
[split]
strategy = "opsc"
layer = 4
edge_bits = 4
cloud_bits = 8
group_size = 64
[workload]
arrival = "closed"
think_time = "1s"
requests_per_device = 1
prompt_tokens = 64
output_tokens = {}
max_seq_len = {}
)",
                     c.devices, c.tokens, c.devices, c.cell_size, c.backbone, c.router, c.servers, c.tokens, 64 + c.tokens);
}

nlohmann::json run_sim_bench(const SimBenchCase& c) {
  const Scenario sc = c.scenario.empty() ? scenario_from_source(parse_toml_text(sim_bench_scenario(c), "bench sim"))
                                         : load_scenario(c.scenario, parse_overrides(c.sets));
  const System sys = resolve_system(sc);
  SimOptions opt;
  opt.full = c.full;
  SimResult r = simulate_isolated(sys, opt);
  const double steps = r.info.value("decode_steps", 0.0);
  nlohmann::json s = r.summary();
  return {{"devices", sys.scenario.device_count()},
          {"tokens", c.scenario.empty() ? c.tokens : 0},
          {"requests", r.requests.size()},
          {"servers", sys.server_count()},
          {"cell_size", c.cell_size},
          {"sim_mode", r.info["sim_mode"]},
          {"backbone_simulated", r.info["backbone_simulated"]},
          {"decode_steps", steps},
          {"simulated_s", r.info["simulated_s"]},
          {"wall_s", r.totals.wall},
          {"cpu_s", r.info["cpu_s"]},
          {"steps_per_wall_s", r.totals.wall > 0 ? steps / r.totals.wall : 0.0},
          {"peak_rss_bytes", r.info["peak_rss_bytes"]},
          {"server_utilization", s["server_utilization"]},
          {"server_mean_batch", r.info["server_mean_batch"]},
          {"tpot_p50_s", s["tpot_s"]["p50"]},
          {"events", r.totals.events}};
}

}  // namespace splitsim
