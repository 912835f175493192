// `splitsim run`: load a scenario, simulate it, write results/<scenario>/<hash>/{config.json, requests.csv,
// summary.json}. Input errors are thrown before anything is written.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/overrides.hpp"
#include "sim/simulation.hpp"

namespace splitsim {

struct RunOptions {
  std::string scenario;             // path to a scenario TOML
  std::vector<std::string> sets;    // --set key=value
  std::string out;                  // results folder; empty: results/<scenario name>/<hash>
  std::string dump_platform;
  bool quiet = false;
  bool full = false;                // --full-simgrid: the reference mode (slow)
};

struct RunOutput {
  std::string dir;
  nlohmann::json summary;
};

RunOutput run_scenario(const RunOptions& opt);

// Writes config.json, requests.csv and summary.json into dir (created when missing).
nlohmann::json write_results(const std::string& dir, const System& sys, const SimResult& res);

}  // namespace splitsim
