// `splitsim validate`: the simulator against the real executor on the same resolved configuration.
//
// A scenario (scenarios/validate/*.toml) is resolved once into a System. The executor runs it for real — the
// server and the scenario's N edge clients in one process over loopback TCP, each client's link shaped to the
// scenario's access link — `reps` times; the simulator runs the same System once (it is deterministic). Per
// metric (TTFT, TPOT mean and p90, end-to-end, bytes up/down, server busy time) the executor's repetitions are
// summarized (median by default) and compared with the simulation:
// relative error = (simulated - measured) / measured.
//
// What makes the comparison honest (README "Validation" says the same):
//  - Compute durations come from this host's measured executor tables (hwprofiles/measured/, written by
//    `splitsim calibrate-executor`), never from datasheets; the profiles must be host-cpu profiles.
//  - The edge clients and the server are threads of one machine: the scenario says so (server.shared_cores), and
//    the simulator runs every edge step and server iteration on one host with that many cores, shared equally
//    among the steps computing at once (SimGrid's CPU model), as the operating system shares them.
//  - The tables time each step as a run does: one call after an idle wait, averaged (executor/calibrate.cpp).
//  - TS + TAB-Q sizes depend on the data: the simulator gets the codec statistics (mean bits per token,
//    outliers per token) of the very hidden states the executor sent, obtained by replaying the edge part on the
//    generated tokens; wire bytes then agree exactly. fp32 wire bytes need no statistics.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace splitsim {

struct ValidateOptions {
  std::vector<std::string> scenarios;  // TOML files
  std::vector<std::string> sets;       // --set key=value, applied to every scenario
  int reps = 3;                        // executor repetitions (the median is compared)
  std::string calibration;             // measured tables file; empty: the one the profiles reference
  std::string weights = "auto";        // auto (stories260k: the real checkpoint when found) | random | checkpoint
  double batch_window = 20e-3;         // s, the executor server's batch window (see validate.cpp)
  // How the repetitions are summarized per metric: "median" (as the calibration summarizes its samples) or "min".
  std::string stat = "median";
  // Calibrate the tables these scenarios need right before running them (into <out>/calibration.toml) and
  // simulate with those: on a shared host the load then is the same for the tables and the executor's runs.
  bool calibrate = false;
  // Calibrate each scenario's own tables right before its runs instead (<out>/calibration-<scenario>.toml): the
  // gap between tables and runs shrinks from minutes to seconds, so a shared host's load drifts less between.
  bool calibrate_each = false;
  bool quick_calibration = false;
  std::string out = "results/validate";
  bool quiet = false;
};

struct MetricRow {
  std::string metric, unit;
  std::string kind;  // target (TPOT, E2E: the targets) | metric | exact (bytes) | stage (diagnostic)
  double measured = 0, simulated = 0;
  double measured_min = 0, measured_max = 0;  // over the executor's repetitions
  double rel_error() const { return measured != 0 ? (simulated - measured) / measured : (simulated == 0 ? 0 : 1); }
};

struct ScenarioValidation {
  std::string scenario, description;
  int64_t clients = 0;
  std::vector<MetricRow> rows;
  nlohmann::json info;  // executor options, calibration, contention, codec statistics, warnings
  const MetricRow* row(const std::string& metric) const;
};

// Runs one scenario for real and simulated; writes nothing. InputError for scenarios the executor cannot run
// (several fleet groups, shared cells, non-fixed lengths, strategies without a hidden state) or profiles
// without measured tables for the model, bits and codec.
ScenarioValidation validate_scenario(const std::string& path, const ValidateOptions& o);

// Aggregate over scenarios: mean and worst |relative error| of a metric, and the noise it is measured through:
// the spread of the executor's repetitions, (max - min) / measured, and in how many scenarios the simulation falls
// inside the measured range (an error inside it is within the run-to-run noise of this host).
struct ErrorStats {
  double mean_abs = 0, worst_abs = 0;
  std::string worst_scenario;
  int64_t n = 0;
  double spread_mean = 0, spread_worst = 0;
  int64_t inside = 0;
};
ErrorStats error_stats(const std::vector<ScenarioValidation>& v, const std::string& metric);
// A stage's errors over the scenarios where its measured time is at least 5% of the measured end-to-end time.
ErrorStats stage_error_stats(const std::vector<ScenarioValidation>& v, const std::string& stage);

// The targets, each checked in one place: `targets` (TPOT and E2E mean |error| <= 10%, worst <= 20%, bytes exact,
// what --check enforces), `tightened` (TPOT and E2E mean <= 5%, worst <= 12%) and `stages` (every stage that takes
// >= 5% of end-to-end within 15% mean and 30% worst, server busy within 10% mean).
struct ValidationVerdict {
  bool targets = false, tightened = false, stages = false;
};
ValidationVerdict validation_verdict(const std::vector<ScenarioValidation>& v);
bool bytes_exact(const ScenarioValidation& v);  // bytes up and down agree to the byte (mean per request)

// The command: every scenario, printed tables, <out>/<scenario>/{validation.csv, validation.json,
// executor_requests.csv, sim_requests.csv} and <out>/validation.csv over all of them, then the aggregate
// against the targets (mean |error| of TPOT and E2E <= 10%, worst <= 20%, bytes exact).
std::vector<ScenarioValidation> run_validate(const ValidateOptions& o);

}  // namespace splitsim
