// Executor-level calibration of this host: what the real split executor's operators take here, written as the
// [executor] tables of hwprofiles/measured/<host>.toml (see hwprofiles/measured_tables.hpp for their meaning).
// The kernels' `splitsim calibrate --backend cpu` measures the kernels alone into the same file; this measures
// the executor's own code paths (forward pass per layer, head, wire codec, framed TCP) at the sizes the
// simulator asks about, so that a host-cpu profile predicts the executor on this host.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace splitsim {

struct ExecCalibrationOptions {
  std::vector<std::string> models = {"stories260k", "stories110m"};  // models/<name>.toml shapes (random weights)
  std::vector<int> bits = {32, 8, 4};   // weight bit-widths to measure (32 = fp32, else OPSC)
  int group_size = 128;
  std::vector<std::string> codecs = {"fp32", "ts-tabq"};  // executor wire codecs
  bool quick = false;                   // fewer points, shorter samples (CI)
  uint64_t seed = 1;
  bool progress = true;                 // one line per table on stderr
};

// Runs every measurement and returns the TOML text of the [executor] tables; `command` is recorded as the
// provenance of every number (with this host's name and the UTC date).
std::string calibrate_executor(const ExecCalibrationOptions& o, const std::string& command);

// Writes `tables` into `path`: replaces the executor block of an existing file (or appends one) and keeps the
// rest of the file (the kernels' calibration) as it is. Atomic (core/output.hpp).
void write_executor_calibration(const std::string& path, const std::string& tables);

}  // namespace splitsim
