// One simulation run: a System (scenario + model + profiles + plan) in, per-request records and run totals out.
//
// SimGrid runs one engine per process: simulate() may be called once per process; simulate_isolated() runs it
// in a forked child (for tests, benchmarks and anything that needs several runs in one process).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/metrics.hpp"
#include "hwprofiles/system.hpp"
#include "sim/isolated.hpp"

namespace splitsim {

struct SimOptions {
  bool full = false;          // every device its own SimGrid host, link, comm and exec (the reference mode)
  bool progress = false;      // a progress line on stderr every few wall seconds
  std::string dump_platform;  // write the generated SimGrid platform here (empty: don't)
};

struct SimResult {
  std::vector<RequestRecord> requests;
  RunTotals totals;
  nlohmann::json info;  // mode, oom and reason, server statistics, simulated seconds, peak RSS
  nlohmann::json summary() const;  // summarize(requests, totals) plus info
  nlohmann::json to_json() const;
  static SimResult from_json(const nlohmann::json& j);
};

// Why a configuration cannot run at all, or "" when it can (edge OOM of some groups is per request).
std::string config_oom_reason(const System& sys);

SimResult simulate(const System& sys, const SimOptions& opt = {});
SimResult simulate_isolated(const System& sys, const SimOptions& opt = {});


}  // namespace splitsim
