// The run command's library part: scenario -> System -> simulation -> result files, written as one run
// (core/output.hpp write_run_folder): summary.json last, its presence marks a complete result folder.
#include "sim/run.hpp"

#include <filesystem>

#include "core/metrics.hpp"
#include "core/output.hpp"
#include "core/scenario.hpp"
#include "hwprofiles/system.hpp"

namespace splitsim {

nlohmann::json write_results(const std::string& dir, const System& sys, const SimResult& res) {
  nlohmann::json s = res.summary();
  write_run_folder(dir, {{"config.json", dump_json(sys.to_json(), 2) + "\n"},
                         {"requests.csv", requests_csv(res.requests)},
                         {"summary.json", dump_json(s, 2) + "\n"}});
  return s;
}

RunOutput run_scenario(const RunOptions& opt) {
  const Scenario sc = load_scenario(opt.scenario, parse_overrides(opt.sets));
  const System sys = resolve_system(sc);
  RunOutput out;
  out.dir = opt.out.empty() ? "results/" + sc.name + "/" + sys.hash() : opt.out;
  SimOptions so;
  so.full = opt.full;
  so.progress = !opt.quiet;
  so.dump_platform = opt.dump_platform;
  SimResult res = simulate(sys, so);
  out.summary = write_results(out.dir, sys, res);
  return out;
}

}  // namespace splitsim
