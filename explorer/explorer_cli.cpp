// The explorer's commands: sweep, merge, optimize, plot, study, analytic-run, and `bench optimize`.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>

#include "core/error.hpp"
#include "core/scenario.hpp"
#include "explorer/analytic_run.hpp"
#include "core/cli.hpp"
#include "explorer/objectives.hpp"
#include "explorer/optimizer.hpp"
#include "explorer/plot.hpp"
#include "explorer/study.hpp"
#include "explorer/sweep.hpp"
#include "hwprofiles/system.hpp"

namespace splitsim {
namespace {

struct SweepArgs {
  std::string target;  // scenario or sweep file
  std::vector<std::string> sets;
  std::string out, engine, shard = "1/1";
  int jobs = 1;
  bool quiet = false, retry = false;
};

void add_engine_option(CLI::App* c, std::string& engine) {
  c->add_option("--engine", engine, "sim (SimGrid, in child processes) or analytic (closed-form fleet model); "
                                    "default: sim when this binary has the simulator")
      ->check(CLI::IsMember({"sim", "analytic"}));
}

std::string engine_or_default(const std::string& e) { return e.empty() ? default_engine() : e; }

void do_sweep(const SweepArgs& a) {
  SweepSpec spec;
  bool is_sweep_file = false;
  {
    auto src = parse_toml_file(a.target);
    is_sweep_file = src->root.contains("axes") || src->root.contains("cases");
  }
  spec = is_sweep_file ? load_sweep_file(a.target) : SweepSpec{a.target, "command line", {}, {}, {}, {}};
  add_sets(spec, a.sets);
  SweepOptions o;
  o.engine = engine_or_default(a.engine);
  o.jobs = a.jobs;
  o.shard = parse_shard(a.shard);
  o.progress = !a.quiet;
  o.retry_failed = a.retry;
  if (a.out.empty()) {
    Scenario sc = load_scenario(spec.scenario, {});
    o.out_dir = "results/sweep-" + sc.name;
  } else {
    o.out_dir = a.out;
  }
  SweepResult r = run_sweep(spec, o);
  if (!a.quiet)
    fmt::print("{} points ({} of {} in this shard): {} ran, {} cached, {} failed, {:.1f} s, engine {} -> {}\n",
               r.points.size(), r.points.size(), r.total_points, r.ran, r.cached, r.failed, r.wall, o.engine,
               r.table_path);
}

struct OptimizeArgs {
  std::string scenario, out, engine, objective = "tpot", accuracy;
  std::vector<std::string> sets, constraints;
  int verify = 5, jobs = 2;
  bool quiet = false, split_schedules = false;
  int64_t schedule_bands = 2;
};

OptimizeOptions optimize_options(const OptimizeArgs& a, const std::string& out) {
  OptimizeOptions o;
  o.objective = a.objective;
  for (const auto& c : a.constraints) o.constraints.push_back(parse_constraint(c));
  o.verify = a.verify;
  o.accuracy_csv = a.accuracy;
  o.quiet = a.quiet;
  o.split_schedules = a.split_schedules;
  o.schedule_bands = a.schedule_bands;
  if (a.schedule_bands != 2 && !a.split_schedules)
    throw InputError(fmt::format("--schedule-bands: expected with --split-schedules, got {} without it", a.schedule_bands));
  o.sweep.engine = engine_or_default(a.engine);
  o.sweep.jobs = a.jobs;
  o.sweep.out_dir = out;
  o.sweep.progress = !a.quiet;
  return o;
}

void add_optimize_options(CLI::App* c, OptimizeArgs& a) {
  c->add_option("--set", a.sets, "Fix a key (k=v) or give its values (k=a,b,c or k=0:32:4) instead of the default axis")
      ->allow_extra_args(false);
  std::vector<std::string> objectives;
  for (const auto& m : optimizer_metrics())
    if (m.objective) objectives.push_back(m.name);
  c->add_option("--objective", a.objective, objective_names())->check(CLI::IsMember(objectives));
  c->add_option("--constraint", a.constraints,
                "METRIC<=VALUE or >=: edge_memory<=8GiB, tpot<=150ms, accuracy_loss<=0.5%, server_load<=5ms, "
                "throughput>=100")
      ->allow_extra_args(false);
  c->add_option("--verify", a.verify, "Candidates verified in the engine (0: analytic screen only)")
      ->check(CLI::Range(0, 1000));
  c->add_option("--jobs,-j", a.jobs, "Parallel verification runs")->check(CLI::Range(1, 4096));
  c->add_option("--accuracy", a.accuracy, "Measured accuracy table (default $SPLITSIM_ACCURACY_CSV or "
                                          "results/accuracy/accuracy.csv)");
  c->add_flag("--split-schedules", a.split_schedules,
              "Also try splits that move with the context: each split alone and two-band schedules (see README)");
  c->add_option("--schedule-bands", a.schedule_bands,
                "With --split-schedules: the most bands of a generated schedule (2: one move; 3 or 4 move a few layers "
                "at a time)")
      ->check(CLI::Range(int64_t{2}, kMaxScheduleBands));
  c->add_flag("--quiet,-q", a.quiet, "No progress or tables");
  add_engine_option(c, a.engine);
}

void bench_optimize(int64_t points) {
  // The screen over the default OPSC grid of the paper scenario, repeated until `points` were evaluated.
  const std::string scenario = data_dir() + "/scenarios/paper-llama2-7b-xavier-a6000.toml";
  AccuracyModel acc = AccuracyModel::load();
  System base = resolve_system(load_scenario(scenario));
  SweepSpec spec;
  spec.scenario = scenario;
  spec.axes = default_axes(base, "opsc");
  // Trim the split-layer axis so that one screen is about `points` points.
  int64_t per_layer = grid_size(spec) / static_cast<int64_t>(spec.axes[0].values.size());
  int64_t layers = std::clamp<int64_t>((points + per_layer - 1) / per_layer, 1,
                                       static_cast<int64_t>(spec.axes[0].values.size()));
  spec.axes[0].values.resize(static_cast<size_t>(layers));
  OptimizeOptions o;
  o.verify = 0;
  o.constraints = {parse_constraint("tpot<=150ms"), parse_constraint("accuracy_loss<=1%")};
  auto t0 = std::chrono::steady_clock::now();
  OptimizeResult r = screen(spec, o, acc);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double evaluated = static_cast<double>(r.screened + r.invalid);
  fmt::print("bench optimize: analytic screen of {} grid points ({} evaluated, {} out of memory, {} feasible) of "
             "llama2-7b/xavier-nx/a6000 in {:.3f} s: {:.0f} points/s (target: >= 10000 points in < 1 s: {})\n",
             grid_size(spec), r.screened, r.oom, r.feasible, s, evaluated / s,
             (grid_size(spec) >= 10000 && s < 1.0) ? "met" : "NOT met");
}

}  // namespace

// Long on purpose: one declaration per command and flag, as `--help` lists them.
void add_explorer_commands(CliRoot& root) {
  // sweep
  static SweepArgs sw;
  auto* sweep = root.app.add_subcommand("sweep", "Run a grid of configurations (one child process per point), one table");
  sweep->add_option("scenario", sw.target, "Scenario TOML, or a sweep file (scenarios/sweeps/*.toml)")->required();
  sweep->add_option("--set", sw.sets, "k=v fixes a key; k=a,b,c or k=start:stop:step makes an axis")
      ->allow_extra_args(false);
  sweep->add_option("--out,-o", sw.out, "Output folder (default results/sweep-<scenario name>)");
  sweep->add_option("--jobs,-j", sw.jobs, "Points run at once")->check(CLI::Range(1, 4096));
  sweep->add_option("--shard", sw.shard, "Run shard i of n (1-based): points with index % n == i - 1");
  sweep->add_flag("--quiet,-q", sw.quiet, "No progress bar");
  sweep->add_flag("--retry-failed", sw.retry, "Run again points whose failure was recorded");
  add_engine_option(sweep, sw.engine);
  sweep->callback([] { do_sweep(sw); });

  // merge
  static std::vector<std::string> merge_dirs;
  static std::string merge_out;
  auto* merge = root.app.add_subcommand("merge", "Join the shard tables of a sweep (sweep.shard-I-of-N.csv) into sweep.csv");
  merge->add_option("dirs", merge_dirs, "Folders holding shard outputs")->required();
  merge->add_option("--out,-o", merge_out, "Output folder (default: the first folder)");
  merge->callback([] {
    std::string out = merge_out.empty() ? merge_dirs[0] : merge_out;
    int64_t n = merge_sweeps(merge_dirs, out);
    fmt::print("merged {} points into {}/sweep.csv\n", n, out);
  });

  // optimize
  static OptimizeArgs oa;
  auto* opt = root.app.add_subcommand("optimize", "Choose split layer, bits, codec and sequence length for an objective "
                                                  "under constraints (analytic screen, then verification)");
  opt->add_option("scenario", oa.scenario, "Scenario TOML file")->required();
  opt->add_option("--out,-o", oa.out, "Output folder (default results/optimize-<scenario name>)");
  add_optimize_options(opt, oa);
  opt->callback([] {
    std::string out = oa.out.empty() ? "results/optimize-" + load_scenario(oa.scenario, {}).name : oa.out;
    OptimizeOptions o = optimize_options(oa, out);
    OptimizeResult r = optimize(oa.scenario, oa.sets, o);
    if (oa.quiet) return;  // -q: the outputs in the folder, nothing on the terminal
    print_optimize(r, o);
    if (r.found) fmt::print("\nchosen configuration written to {}/chosen.toml\n", out);
  });

  // plot
  static std::string plot_dir;
  auto* plot = root.app.add_subcommand("plot", "Figures (PNG + SVG) from the CSV/JSON results in a folder");
  plot->add_option("dir", plot_dir, "Results folder (a study, a sweep or an optimize output)")->required();
  plot->callback([] { run_plots(plot_dir); });

  // study
  static OptimizeArgs st;
  static std::vector<int64_t> st_devices;
  static bool st_no_plots = false;
  static std::vector<std::string> st_strategies;
  auto* study = root.app.add_subcommand("study", "The main job: optimize, sweep devices per strategy, plots, report.md");
  study->add_option("scenario", st.scenario, "Scenario TOML file")->required();
  study->add_option("--out,-o", st.out, "Output folder (default results/<scenario name>)");
  static int64_t st_opt_devices = 0;
  study->add_option("--devices", st_devices, "Device counts (default 1,4,16,64,256)")->delimiter(',');
  study->add_option("--optimize-devices", st_opt_devices, "Device count to optimize for (default: the largest)")
      ->check(CLI::Range(int64_t{1}, int64_t{10'000'000}));
  study->add_option("--strategies", st_strategies, "Strategies (default cloud-only,split-fp16,split-uniform,opsc)")
      ->delimiter(',');
  study->add_flag("--no-plots", st_no_plots, "Skip the figures");
  static std::string st_replay;
  study->add_option("--replay", st_replay,
                    "A trace scenario (workload.arrival = \"trace\") replayed with each strategy's chosen configuration");
  add_optimize_options(study, st);
  study->callback([] {
    StudyOptions so;
    if (st.constraints.empty()) st.constraints = {"accuracy_loss<=1%"};
    so.optimize = optimize_options(st, "");
    so.out_dir = st.out;
    if (!st_devices.empty()) so.devices = st_devices;
    if (!st_strategies.empty()) so.strategies = st_strategies;
    for (auto d : so.devices)
      if (d < 1) throw InputError(fmt::format("--devices {}: expected device counts >= 1", d));
    so.plots = !st_no_plots;
    so.optimize_devices = st_opt_devices;
    so.replay = st_replay;
    run_study(st.scenario, st.sets, so);
  });

  // analytic-run: the analytic engine with `run`'s interface (sweeps use it as a child process when asked).
  static std::string ar_scenario, ar_out;
  static std::vector<std::string> ar_sets;
  static bool ar_quiet = false;
  auto* ar = root.app.add_subcommand("analytic-run", "Write a run folder (config.json, requests.csv, summary.json) from "
                                                     "the analytic fleet model instead of the simulator");
  ar->add_option("scenario", ar_scenario, "Scenario TOML file")->required();
  ar->add_option("--set", ar_sets, "Override a scenario key")->allow_extra_args(false);
  ar->add_option("--out,-o", ar_out, "Output folder")->required();
  ar->add_flag("--quiet,-q", ar_quiet, "No summary on stdout");
  ar->callback([] {
    System sys = resolve_system(load_scenario(ar_scenario, parse_overrides(ar_sets)));
    run_analytic(sys, ar_out);
    if (!ar_quiet) fmt::print("analytic run of {} [{}] -> {}\n", sys.scenario.name, sys.hash(), ar_out);
  });

  // bench optimize
  static int64_t bench_points = 20000;
  auto* bo = root.bench.add_subcommand("optimize", "Analytic screen rate of the optimizer (target >= 10000 points in < 1 s)");
  bo->add_option("--points", bench_points, "Approximate grid size")->check(CLI::Range(int64_t{1}, int64_t{10'000'000}));
  bo->callback([] { bench_optimize(bench_points); });
}

}  // namespace splitsim
