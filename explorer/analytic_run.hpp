// The analytic engine: the fleet model's answer written as a run folder with the simulator's files
// (config.json, requests.csv, summary.json with core/metrics keys), so sweeps, the optimizer and the plots
// can use either engine. Every such folder says "engine": "analytic".
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/metrics.hpp"
#include "explorer/fleet_model.hpp"

namespace splitsim {

// One record per request (identical devices give identical records), and the run totals.
std::vector<RequestRecord> analytic_requests(const System& sys, const FleetEstimate& f);
nlohmann::json analytic_summary(const System& sys, const FleetEstimate& f);

// Writes out_dir/{config.json, requests.csv, summary.json}; summary.json is written last (it marks a
// finished run).
void run_analytic(const System& sys, const std::string& out_dir);

}  // namespace splitsim
