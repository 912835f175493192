// The unified optimizer: choose split layer, edge/cloud weight bits, KV bits, codec settings (TS mode and
// threshold, TAB-Q eps and bit set) and maximum sequence length for an objective under constraints.
//
// 1. Screen: every point of the grid through the analytic fleet model at the scenario's device count
//    (cost model + batching server, no simulation), with edge memory from the cost model and accuracy_loss
//    from the accuracy model (measured where the executor measured it, else estimated). Codec statistics
//    (codec.mean_bits, codec.outliers_per_token) are derived from each codec setting by the codec model.
// 2. Verify: the best `verify` feasible points run in the chosen engine (the simulator: contention can
//    reorder them) at the scenario's device count; the best verified point that still meets every
//    constraint wins.
// 3. Report: the choice with its breakdown, the Pareto front of (latency, accuracy_loss, edge memory), and,
//    when nothing fits, the binding constraint: the one whose removal alone would leave feasible points, with
//    the best value the other constraints allow.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "explorer/accuracy.hpp"
#include "explorer/grid.hpp"
#include "explorer/sweep.hpp"
#include "hwprofiles/cost_model.hpp"

namespace splitsim {

// "tpot<=150ms", "edge_memory<=8GiB", "accuracy_loss<=0.5%", "throughput>=100", "tpot.p99<=0.2s".
struct Constraint {
  std::string metric;  // edge_memory | ttft | tpot | e2e | server_load | throughput | accuracy_loss (+ .p50/.p90/.p99/.max)
  bool at_most = true;
  double value = 0;    // SI: B, s, s per token, tokens/s, fraction
  std::string text;
  bool ok(double v) const { return at_most ? v <= value * (1 + 1e-12) : v >= value * (1 - 1e-12); }
};
Constraint parse_constraint(const std::string& text);

struct Candidate {
  int64_t index = 0;                 // position in the screened grid
  std::vector<Assignment> knobs;     // the varied keys and their values
  std::vector<Assignment> derived;   // codec.mean_bits / outliers_per_token the codec model gave the point
  std::vector<Assignment> settings() const;  // knobs + derived: what a scenario needs to reproduce the point
  CodecEstimate codec;  // derived codec statistics (ts_tabq / uniform)
  double edge_memory = 0, ttft = 0, tpot = 0, e2e = 0, server_load = 0, throughput = 0, utilization = 0;
  double bytes_up_per_token = 0;
  double servers = 1;                // in the pool
  double server_usd_per_hour = 0;    // the pool's price (System::server_usd_per_hour; NaN: unpriced)
  double edge_energy_per_token = 0;  // J (NaN: a device or link profile has no power figures)
  // s: the longest time between two tokens (a split schedule's move stalls the stream). The screen: a device alone's
  // longest step plus what the fleet adds to every step (its TPOT beyond the device alone's), the worst group.
  double pause = 0;
  AccuracyResult accuracy;
  bool oom = false;                  // edge or server memory does not fit
  std::string reason;
  StageTimes decode;                 // mean decode step by stage, one device alone
  StageTimes prefill;
  // Filled by verification.
  bool verified = false;
  std::string verify_status, verify_reason, verify_dir;
  nlohmann::json verified_summary;
};

struct OptimizeOptions {
  std::string objective = "tpot";   // tpot | ttft | e2e | server_load | throughput
  std::vector<Constraint> constraints;
  int verify = 5;                   // candidates to verify; 0: screen only
  SweepOptions sweep;               // engine, jobs, out_dir (verification runs go to out_dir/verify)
  std::string accuracy_csv;         // empty: default location
  bool default_grid = true;         // add the standard axes for keys not given with several values
  // Try splits that move with the context: the split.layer axis becomes a split.schedule axis (schedule_axis).
  bool split_schedules = false;
  int64_t schedule_bands = 2;  // the most bands of a generated schedule (2..kMaxScheduleBands)
  bool quiet = false;
};

struct OptimizeResult {
  SweepSpec spec;                    // the screened grid (base scenario, fixed, axes)
  int64_t screened = 0, feasible = 0, oom = 0, invalid = 0;
  double screen_seconds = 0;
  std::vector<Candidate> top;        // best feasible by the analytic objective (verified ones marked)
  std::vector<Candidate> pareto;     // non-dominated (latency, accuracy_loss, edge memory), memory-feasible
  std::vector<Candidate> sample;     // an even sample of memory-feasible points, for plots
  bool found = false;
  Candidate chosen;
  std::string binding;               // when nothing fits: the binding constraint and why
  std::string accuracy_label;        // "measured", "estimated", or "measured+estimated"
};

// The standard search space for a strategy (axes over the keys that strategy reads).
std::vector<Axis> default_axes(const System& base, const std::string& strategy);
// split.schedule values: every split of `layers` alone ("0:S"), and every two-band schedule "0:S0,C:S1" with
// S0 > S1 from `layers` (at most 9 of them, evenly spaced, when `thin`) moving at C = 256, 512, 1024 or 2048
// cached tokens (below the model's context).
// Every split alone and every schedule of 2..max_bands bands over them (at most 9 splits, evenly spaced, when
// `thin`), moving at increasing contexts among 256, 512, 1024 and 2048 below max_seq_len.
constexpr int64_t kMaxScheduleBands = 4;
Axis schedule_axis(const System& base, const std::vector<int64_t>& layers, bool thin, int64_t max_bands = 2);
// Two-band schedules "0:S1,C:S" that keep the edge's memory peak (CostModel::edge_memory) within the static split
// S's of `sys`: for each move context C = 256, 512, 1024, 2048 below max_seq_len, the largest split point S1 > S
// that fits, if any. The layers they run on the edge below C are what the static split leaves unused for short
// contexts.
std::vector<std::string> memory_matched_schedules(const System& sys);

// Screens a spec in this process; no files written. Points that cannot resolve are counted as invalid.
OptimizeResult screen(const SweepSpec& spec, const OptimizeOptions& opt, const AccuracyModel& acc);

// Screen + verify + outputs (out_dir/optimize.json, candidates.csv, pareto.csv, screen_sample.csv,
// chosen.toml). `sets` are the user's --set texts: single values fix a key, lists and ranges replace the
// default axis for that key.
OptimizeResult optimize(const std::string& scenario, const std::vector<std::string>& sets, const OptimizeOptions& opt);

// The objective's value of a candidate (lower is better; throughput is negated).
double objective_value(const Candidate& c, const std::string& objective);
double metric_value(const Candidate& c, const std::string& metric);  // analytic, or verified when present
void print_optimize(const OptimizeResult& r, const OptimizeOptions& opt);
// candidates.csv, pareto.csv, screen_sample.csv, optimize.json and (when found) chosen.toml in opt.sweep.out_dir.
void write_optimize_outputs(const OptimizeResult& res, const OptimizeOptions& opt, int64_t devices,
                            const std::vector<std::string>& accuracy_sources);

// The chosen configuration as a scenario file: the base file with the chosen keys set.
std::string chosen_scenario_text(const OptimizeResult& r);

}  // namespace splitsim
