// Sweeps: run every point of a grid as its own simulation and collect one table.
//
// SimGrid runs one engine per process, so each point of the simulator engine is a child process of this very
// binary (`splitsim run SCENARIO --set ... --out DIR/runs/<hash> --quiet`), up to `jobs` at a time. A point's
// results live in a folder named by the hash of its resolved configuration (System::hash()); a folder with a
// summary.json is done, so an interrupted sweep resumes where it stopped and points that resolve to the same
// configuration run once. A point that fails keeps its reason (the child's last error line, or the run's own
// "reason" for an out-of-memory configuration) in the table instead of being dropped.
//
// The analytic engine (fleet_model.hpp) needs no SimGrid and runs in this process unless asked otherwise.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "explorer/grid.hpp"

namespace splitsim {

struct SweepOptions {
  std::string out_dir;
  int jobs = 1;
  Shard shard;
  std::string engine = "sim";   // sim | analytic
  bool in_process = true;       // analytic engine: compute here instead of in a child process
  std::string exe;              // the splitsim binary for child runs; default /proc/self/exe
  bool progress = true;         // progress bar on stderr
  bool retry_failed = false;    // run again points whose failure was recorded
  bool write_table = true;      // sweep.csv (or the shard's table) and sweep.json
};

struct PointResult {
  GridPoint point;
  std::string hash;    // empty when the point does not resolve (status "invalid")
  std::string dir;     // run folder
  std::string status;  // ok | oom | failed | invalid
  std::string reason;
  bool cached = false;
  nlohmann::json summary = nlohmann::json::object();  // summary.json of the run (empty when it failed)
};

struct SweepResult {
  std::vector<PointResult> points;  // this shard's points, in grid order
  int64_t total_points = 0;         // whole grid after exclusions
  int64_t ran = 0, cached = 0, failed = 0;
  double wall = 0;  // s
  std::string table_path;
};

// "sim" runs require the `run` command in this binary; InputError names the engine otherwise.
SweepResult run_sweep(const SweepSpec& spec, const SweepOptions& opt);

// The engines this binary can run: "analytic", and "sim" once the simulator is built in.
bool simulator_available(const std::string& exe = "");
std::string default_engine(const std::string& exe = "");

// One table row: column -> cell text.
using SweepRow = std::map<std::string, std::string>;
SweepRow sweep_row(const PointResult& p);
// Header: point, case, the varied keys, status, reason, hash, engine, then the summary metrics (core/metrics
// order, then any further keys sorted), nested keys flattened with '.': ttft_s.p99.
std::vector<std::string> sweep_header(const std::vector<std::string>& varied_keys, const std::vector<SweepRow>& rows);
void write_sweep_table(const std::string& path, const std::vector<std::string>& varied_keys,
                       const std::vector<SweepRow>& rows);

// A JSON file; InputError naming it when it cannot be read or parsed.
nlohmann::json read_json(const std::string& path);

// Joins the shard tables (sweep.shard-I-of-N.csv) found in dirs into out_dir/sweep.csv; InputError when a
// shard is missing, duplicated, or from another grid. Returns the number of rows.
int64_t merge_sweeps(const std::vector<std::string>& dirs, const std::string& out_dir);

}  // namespace splitsim
