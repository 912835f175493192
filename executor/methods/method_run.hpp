// The commands behind `splitsim exec eval --method M` (one configuration) and `splitsim exec accuracy-sweep`
// (methods x split x bits into results/accuracy/accuracy.csv, the file the explorer's accuracy model reads).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "executor/exec_run.hpp"
#include "executor/methods/method.hpp"

namespace splitsim {

// Calibration streams: sampled from the fp32 model with seeds calib_seed, calib_seed + 1, ...; never the
// evaluation streams' seeds (checked).
struct CalibrationOptions {
  int64_t streams = 8, length = 128;
  uint64_t seed = 1000;
};

// `o` selects the model, the evaluation streams and the output folder; `s` the method (s.split is taken from
// o.split).
void exec_method_eval(const ExecOptions& o, const MethodSettings& s, const CalibrationOptions& c);

struct AccuracySweepOptions {
  std::vector<std::string> methods;  // empty: all
  std::vector<int64_t> splits;       // empty: 1 .. L-1
  bool quick = false;                // a reduced grid (one split, fewer bit-widths) for tests and smoke runs
  std::string out = "results/accuracy";
  MethodSettings base;               // method parameters every point starts from (alpha, threshold, clips)
};

// One point of the sweep grid.
std::vector<MethodSettings> accuracy_sweep_grid(const AccuracySweepOptions& a, int64_t n_layers, int group_size);

void exec_accuracy_sweep(const ExecOptions& o, const AccuracySweepOptions& a, const CalibrationOptions& c);

}  // namespace splitsim
