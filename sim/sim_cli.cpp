// `splitsim run` and `splitsim bench sim`: the only sim/ file that includes CLI11.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "core/units.hpp"
#include "core/cli.hpp"
#include "core/scenario.hpp"
#include "sim/bench.hpp"
#include "sim/run.hpp"

namespace splitsim {

void add_sim_commands(CliRoot& root) {
  auto opt = std::make_shared<RunOptions>();
  CLI::App* run = root.app.add_subcommand("run", "Simulate a scenario: N devices, their links and the shared server");
  run->add_option("scenario", opt->scenario, "Scenario TOML file")->required();
  run->add_option("--set", opt->sets, "Override a scenario key: --set split.layer=8 (repeatable)")
      ->allow_extra_args(false);
  run->add_option("--out", opt->out, "Results folder (default results/<scenario>/<hash>)");
  run->add_option("--dump-platform", opt->dump_platform, "Write the generated SimGrid platform XML here");
  run->add_flag("--quiet", opt->quiet, "No progress line, no summary on stdout");
  run->add_flag("--full-simgrid", opt->full,
                "Reference mode: every device a SimGrid host with its own link, comms and execs (slow)");
  run->callback([opt] {
    RunOutput out = run_scenario(*opt);
    if (opt->quiet) return;
    const auto& s = out.summary;
    if (s.value("oom", false)) fmt::print("OOM: {}\n", s.value("reason", std::string()));
    fmt::print("{}: {} requests on {} devices, {} tokens, {} mode\n", s["scenario"].get<std::string>(),
               s["requests"].get<int64_t>(), s["devices"].get<int64_t>(), s["generated_tokens"].get<double>(),
               s["sim_mode"].get<std::string>());
    fmt::print("  TTFT p50 {}  p99 {}   TPOT p50 {}  p99 {}   E2E p50 {}\n", format_time(s["ttft_s"]["p50"]),
               format_time(s["ttft_s"]["p99"]), format_time(s["tpot_s"]["p50"]), format_time(s["tpot_s"]["p99"]),
               format_time(s["e2e_s"]["p50"]));
    fmt::print("  server utilization {:.3f}, busy per token {}, throughput {:.1f} tokens/s\n",
               s["server_utilization"].get<double>(), format_time(s["server_busy_per_token_s"]),
               s["throughput_tokens_per_s"].get<double>());
    fmt::print("  simulated {} in {:.2f} s wall, {} events -> {}\n", format_time(s["simulated_s"]),
               s["wall_s"].get<double>(), s["events"].get<int64_t>(), out.dir);
  });

  auto bc = std::make_shared<SimBenchCase>();
  auto deployment = std::make_shared<bool>(false);
  CLI::App* bench = root.bench.add_subcommand("sim", "Simulator speed: wall time, decode steps per wall second, peak RSS");
  bench->add_option("--devices", bc->devices, "Devices of a single custom case (with --tokens)");
  bench->add_option("--tokens", bc->tokens, "Generated tokens per device of a custom case");
  bench->add_option("--cell-size", bc->cell_size, "Devices per shared Wi-Fi 6 cell (0: private links)");
  bench->add_option("--backbone", bc->backbone, "Backbone link profile");
  bench->add_flag("--full-simgrid", bc->full, "Reference full-SimGrid mode");
  bench->add_option("--servers", bc->servers, "A6000s in the pool of a custom case")
      ->check(CLI::Range(int64_t{1}, int64_t{100000}));
  bench->add_option("--router", bc->router, "How a custom case's pool is shared (server.router)")
      ->check(CLI::IsMember(router_names()));
  bench->add_option("--scenario", bc->scenario, "A scenario file to time as it is (a trace replay, a pool)");
  bench->add_flag("--deployment", *deployment,
                  "The deployment-scale targets instead: the whole Azure conversation trace through 1,000 devices "
                  "(<= 10 s) and 1,000,000 devices x 128 tokens over 64 servers (<= 120 s, <= 4 GiB); minutes");
  bench->callback([bc, bench, deployment] {
    std::vector<SimBenchCase> cases;
    struct Target {
      double wall_s, rss_bytes;
    };
    std::vector<Target> targets;
    if (*deployment) {
      SimBenchCase trace = *bc, pool = *bc;
      trace.scenario = data_dir() + "/scenarios/paper-llama2-7b-xavier-a6000-azure-conv.toml";
      trace.sets = {"workload.window=[0,3600]"};
      pool.devices = 1'000'000, pool.tokens = 128, pool.servers = 64, pool.cell_size = 20;
      cases = {trace, pool};
      targets = {{10, 0}, {120, 4.0 * (1ull << 30)}};
    } else if (bench->count("--devices") || bench->count("--tokens") || bench->count("--scenario")) {
      cases.push_back(*bc);
    } else {
      SimBenchCase a = *bc, b = *bc;
      a.devices = 10000, a.tokens = 128;
      b.devices = 100000, b.tokens = 16;
      cases = {a, b};
    }
    fmt::print("{:>8} {:>6} {:>5} {:>7} {:>5} {:>9} {:>11} {:>9} {:>9} {:>13} {:>10} {:>6} {:>6}\n", "devices",
               "tokens", "cell", "servers", "mode", "steps", "simulated", "wall", "cpu", "steps/wall-s", "peak RSS", "util",
               "batch");
    for (const auto& c : cases) {
      nlohmann::json r = run_sim_bench(c);
      fmt::print("{:>8} {:>6} {:>5} {:>7} {:>5} {:>9} {:>10.1f}s {:>8.2f}s {:>8.2f}s {:>13.0f} {:>10} {:>6.3f} {:>6.1f}\n",
                 r["devices"].get<int64_t>(), c.scenario.empty() ? std::to_string(c.tokens) : std::string("trace"),
                 c.scenario.empty() ? std::to_string(c.cell_size) : std::string("-"), r["servers"].get<int64_t>(),
                 r["sim_mode"].get<std::string>(),
                 r["decode_steps"].get<double>(), r["simulated_s"].get<double>(), r["wall_s"].get<double>(),
                 r["cpu_s"].get<double>(),
                 r["steps_per_wall_s"].get<double>(), format_bytes(r["peak_rss_bytes"].get<double>()),
                 r["server_utilization"].get<double>(), r["server_mean_batch"].get<double>());
      const size_t i = static_cast<size_t>(&c - cases.data());
      if (i < targets.size()) {
        const double wall = r["wall_s"].get<double>(), rss = r["peak_rss_bytes"].get<double>();
        const bool ok = wall <= targets[i].wall_s && (targets[i].rss_bytes <= 0 || rss <= targets[i].rss_bytes);
        fmt::print("  target: <= {:.0f} s{}: {}\n", targets[i].wall_s,
                   targets[i].rss_bytes > 0 ? fmt::format(" and <= {}", format_bytes(targets[i].rss_bytes)) : "",
                   ok ? "met" : "NOT met");
      }
      std::fflush(stdout);
    }
  });
}

}  // namespace splitsim
