// The main job: optimize the scenario's setting, sweep the device count for each strategy, write the plots and
// a short report (results/<name>/report.md).
//
// OPSC gets the optimizer's choice (screen + verification). Each baseline gets its own best configuration
// from the same analytic screen under the same constraints (its split layer and bits, so that e.g. split-fp16
// is not charged with a split point that does not fit in fp16); a baseline with no configuration that meets
// the constraints falls back to its best memory-feasible one, and the report says so. Then every strategy
// runs at every device count in the chosen engine (the simulator when built in).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "explorer/optimizer.hpp"
#include "explorer/sweep.hpp"

namespace splitsim {

struct StudyOptions {
  std::string out_dir;  // empty: results/<scenario name>
  std::vector<int64_t> devices = {1, 4, 16, 64, 256};
  // Device count the configurations are optimized for (0: the largest of `devices`, where the server is
  // contended and the choice matters most).
  int64_t optimize_devices = 0;
  std::vector<std::string> strategies = {"cloud-only", "split-fp16", "split-uniform", "opsc"};
  OptimizeOptions optimize;  // objective, constraints, verification, engine and jobs
  bool plots = true;
  // A scenario with workload.arrival = "trace", replayed with each strategy's chosen configuration (its own
  // fleet, trace and max_seq_len); "" for none.
  std::string replay;
};

struct StudyResult {
  std::string out_dir;
  std::string report_path;
  bool found = false;
};

StudyResult run_study(const std::string& scenario, const std::vector<std::string>& sets, const StudyOptions& opt);

// breakdown.csv: per strategy and device count of a device sweep, the mean time per generated token in each
// latency stage (core/metrics.hpp), from the runs' requests.csv.
void write_breakdown(const SweepResult& sweep, const std::string& path);

// The report's section on how far its stage breakdown is validated: from a `splitsim validate` table at `path`
// (validation.csv), the headline errors and, per latency stage, the mean and worst |relative error| over the
// scenarios where the stage takes at least 5% of the measured end-to-end time; without the file, that it is missing.
// `base`: the report's system (what its costs come from).
std::string validation_section(const std::string& path, const System& base);

}  // namespace splitsim
