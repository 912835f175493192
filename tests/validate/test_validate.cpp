// The validation loop end to end, as CI runs it: calibrate this host quickly into a temporary file (never the
// numbers committed from another machine), then run small validation scenarios on the real executor and in the
// simulator and hold the errors to the targets. A negative control shows the check can fail.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/scenario.hpp"
#include "executor/calibrate.hpp"
#include "executor/model_files.hpp"
#include "explorer/validate.hpp"

using namespace splitsim;

namespace {

// A quick calibration of stories260k (32, 8 and 4 bits) into a temporary file, named `name`.
std::string quick_calibration(const std::string& name) {
  ExecCalibrationOptions co;
  co.models = {"stories260k"};
  co.bits = {32, 8, 4};
  co.codecs = {"fp32", "ts-tabq"};
  co.quick = true;
  co.progress = false;
  const auto dir = std::filesystem::temp_directory_path() / "splitsim-test-validate";
  std::filesystem::create_directories(dir);
  const std::string p = (dir / (name + ".toml")).string();
  std::filesystem::remove(p);
  write_executor_calibration(p, calibrate_executor(co, "test_validate (quick calibration)"));
  return p;
}

// One per test binary, for the tests that only need some tables.
const std::string& ci_calibration() {
  static const std::string path = quick_calibration("ci-calibration");
  return path;
}

std::string table(const ScenarioValidation& v) {
  std::string s = v.scenario + ":\n";
  for (const auto& r : v.rows)
    s += fmt::format("  {:<16} measured {:.6g} simulated {:.6g} ({:+.1f}%)\n", r.metric, r.measured, r.simulated,
                     100 * r.rel_error());
  return s;
}

std::string scenario_path(const std::string& name) { return data_dir() + "/scenarios/validate/" + name + ".toml"; }

struct Attempt {
  std::vector<ScenarioValidation> all;
  std::string tables;
  bool sent = true;  // every scenario's executor sent its hidden states
  // The targets over these scenarios (validation_verdict: TPOT and end-to-end mean |error| <= 10%, worst
  // <= 20%, bytes exact); and TTFT, not a target of the issue, within 20% (the clients of a local run start their
  // first requests together after the handshakes, as the simulated devices start at time 0).
  bool within_targets() const {
    return sent && validation_verdict(all).targets && error_stats(all, "ttft_mean").worst_abs <= 0.20;
  }
};

Attempt validate_small_scenarios() {
  ValidateOptions o;
  o.reps = 7;  // the median of 7 runs keeps a busy host's outliers out
  o.quiet = true;
  Attempt a;
  for (const char* name : {"v260k-s1-fp32-c1-fast", "v260k-s4-opsc-c2-fast"}) {
    // Calibrated right before the runs, as `validate --calibrate-each` does: a shared CI host's load drifts.
    o.calibration = quick_calibration(std::string("calibration-") + name);
    a.all.push_back(validate_scenario(scenario_path(name), o));
    const ScenarioValidation& v = a.all.back();
    a.tables += table(v);
    a.sent = a.sent && v.row("bytes_up")->measured > 0;
  }
  return a;
}

}  // namespace

TEST_CASE("validate: the simulator predicts the executor within the targets after a quick calibration", "[validate][ci]") {
  if (!find_model_dir()) WARN("stories260K not found (set SPLITSIM_MODEL_DIR): validating on random weights of its shape");
  // A 2-core CI host is sometimes busy for a whole calibration (a build's last writes, a neighbour): one attempt
  // that misses is repeated once, with a fresh calibration, and reported; both must not miss. The bytes never vary.
  Attempt a = validate_small_scenarios();
  const bool bytes_exact_everywhere = std::all_of(a.all.begin(), a.all.end(), [](const auto& v) { return bytes_exact(v); });
  if (bytes_exact_everywhere && !a.within_targets()) {
    WARN("first attempt missed the targets on a busy host; repeating it once:\n" << a.tables);
    a = validate_small_scenarios();
  }
  INFO(a.tables);
  for (const ScenarioValidation& v : a.all) CHECK(bytes_exact(v));
  CHECK(a.within_targets());
}

TEST_CASE("validate: a wrong calibration is caught (negative control)", "[validate][ci]") {
  // The same tables with 2 ms of transport per message each way: the simulation must miss by far.
  std::ifstream in(ci_calibration());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto at = text.find("round_trip_s = ");
  REQUIRE(at != std::string::npos);
  const auto clients = text.find("clients = ");
  REQUIRE(clients != std::string::npos);
  text.replace(at, text.find('\n', at) - at, "round_trip_s = [0.004]");
  text.replace(clients, text.find('\n', clients) - clients, "clients = [1]");
  const std::string wrong = (std::filesystem::path(ci_calibration()).parent_path() / "wrong.toml").string();
  std::ofstream(wrong) << text;
  ValidateOptions o;
  o.calibration = wrong;
  o.reps = 2;
  o.quiet = true;
  const ScenarioValidation v = validate_scenario(scenario_path("v260k-s1-fp32-c1-fast"), o);
  INFO(table(v));
  CHECK(bytes_exact(v));  // bytes do not depend on the tables
  CHECK(std::abs(v.row("tpot_mean")->rel_error()) > 0.5);
}

TEST_CASE("validate: configurations the executor cannot run are input errors naming the key", "[validate]") {
  ValidateOptions o;  // every error comes before any table is needed
  o.sets = {"workload.arrival=poisson", "workload.rate=1/s"};
  CHECK_THROWS_WITH(validate_scenario(scenario_path("v260k-s1-fp32-c1-fast"), o),
                    Catch::Matchers::Contains("workload.arrival"));
  // fp16 weights pass the plan check. The committed vm.toml has no 16-bit layer table, so the run still stops
  // before any timing, at the tables (which ones it names depends on the file's version), never at the bits.
  o.sets = {"split.strategy=split-fp16"};
  o.calibration = data_dir() + "/hwprofiles/measured/vm.toml";
  CHECK_THROWS_WITH(validate_scenario(scenario_path("v260k-s1-fp32-c1-fast"), o),
                    !Catch::Matchers::Contains("edge_bits") && !Catch::Matchers::Contains("cloud_bits"));
  o.calibration.clear();
  o.sets = {"server.shared_cores=0"};  // the executor's clients and server always share this machine
  CHECK_THROWS_WITH(validate_scenario(scenario_path("v260k-s1-fp32-c1-fast"), o),
                    Catch::Matchers::Contains("server.shared_cores"));
  o.sets = {"edge.profile=raspberry-pi-5"};
  CHECK_THROWS_WITH(validate_scenario(scenario_path("v260k-s1-fp32-c1-fast"), o),
                    Catch::Matchers::Contains("edge.profile") && Catch::Matchers::Contains("measured executor tables"));
  // A changing link: the executor's clients and the simulated devices must follow its trace from one start.
  o.sets = {"edge.trace_phase=random"};
  CHECK_THROWS_WITH(validate_scenario(scenario_path("v260k-s2-fp32-c2-lte-varying"), o),
                    Catch::Matchers::Contains("edge.trace_phase: expected \"aligned\""));
}

TEST_CASE("validate: targets and stage errors and the spread of repetitions from hand-written rows", "[validate]") {
  auto scenario = [](const std::string& name, double tpot_sim, double edge_measured, double edge_sim) {
    ScenarioValidation v;
    v.scenario = name;
    // metric, unit, kind, measured, simulated, measured_min, measured_max
    v.rows = {{"tpot_mean", "s", "target", 0.010, tpot_sim, 0.009, 0.0105},
              {"e2e_mean", "s", "target", 1.0, 1.0, 0.95, 1.05},
              {"bytes_up", "B", "exact", 100, 100, 100, 100},
              {"bytes_down", "B", "exact", 10, 10, 10, 10},
              {"server_busy", "s", "metric", 0.5, 0.52, 0.5, 0.5},
              {"edge_compute", "s", "stage", edge_measured, edge_sim, edge_measured, edge_measured},
              {"encode", "s", "stage", 0.01, 0.05, 0.01, 0.01}};  // 1% of E2E: not held to the stage targets
    return v;
  };
  std::vector<ScenarioValidation> all = {scenario("a", 0.0104, 0.2, 0.21), scenario("b", 0.0108, 0.04, 0.06)};
  const ErrorStats tp = error_stats(all, "tpot_mean");
  CHECK(tp.mean_abs == Approx(0.06));
  CHECK(tp.worst_abs == Approx(0.08));
  CHECK(tp.worst_scenario == "b");
  CHECK(tp.spread_mean == Approx(0.15));
  CHECK(tp.inside == 1);  // 10.4 ms inside [9, 10.5]; 10.8 ms is not
  // b's edge stage is 4% of its end-to-end time: only a's counts.
  const ErrorStats edge = stage_error_stats(all, "edge_compute");
  CHECK(edge.n == 1);
  CHECK(edge.mean_abs == Approx(0.05));
  CHECK(stage_error_stats(all, "encode").n == 0);
  ValidationVerdict verdict = validation_verdict(all);
  CHECK(verdict.targets);
  CHECK(!verdict.tightened);  // TPOT mean 6%, worst 8%
  CHECK(verdict.stages);
  all[0].rows[5].simulated = 0.27;  // a's edge stage 35% off
  CHECK(!validation_verdict(all).stages);
  all[1].rows[2].simulated = 101;  // a byte off
  CHECK(!validation_verdict(all).targets);
}
