// The validation loop end to end, as CI runs it: calibrate this host quickly into a temporary file (never the
// numbers committed from another machine), then run small validation scenarios on the real executor and in the
// simulator and hold the errors to the targets. A negative control shows the check can fail.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "core/scenario.hpp"
#include "executor/calibrate.hpp"
#include "executor/model_files.hpp"
#include "explorer/validate.hpp"

using namespace splitsim;

namespace {

// One quick calibration per test binary, covering the scenarios below (stories260k at 32, 8 and 4 bits).
const std::string& ci_calibration() {
  static const std::string path = [] {
    ExecCalibrationOptions co;
    co.models = {"stories260k"};
    co.bits = {32, 8, 4};
    co.codecs = {"fp32", "ts-tabq"};
    co.quick = true;
    co.progress = false;
    const auto dir = std::filesystem::temp_directory_path() / "splitsim-test-validate";
    std::filesystem::create_directories(dir);
    const std::string p = (dir / "ci-calibration.toml").string();
    std::filesystem::remove(p);
    write_executor_calibration(p, calibrate_executor(co, "test_validate (quick calibration)"));
    return p;
  }();
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

}  // namespace

TEST_CASE("validate: the simulator predicts the executor within the targets after a quick calibration", "[validate][ci]") {
  if (!find_model_dir()) WARN("stories260K not found (set SPLITSIM_MODEL_DIR): validating on random weights of its shape");
  ValidateOptions o;
  o.calibration = ci_calibration();
  o.reps = 5;  // the median of 5 runs keeps a busy host's outliers out
  o.quiet = true;
  for (const char* name : {"v260k-s1-fp32-c1-fast", "v260k-s4-opsc-c2-fast"}) {
    const ScenarioValidation v = validate_scenario(scenario_path(name), o);
    INFO(table(v));
    CHECK(bytes_exact(v));
    // The mean target (10%) held by each scenario, TTFT to the worst-case bound.
    CHECK(std::abs(v.row("tpot_mean")->rel_error()) <= 0.10);
    CHECK(std::abs(v.row("e2e_mean")->rel_error()) <= 0.10);
    // TTFT, not a target of the issue, to the worst-case bound; with two clients the executor's second client
    // starts its request up to about a millisecond after the first (thread start, connect, handshake), which
    // the first one's prefill waits for in the server's batch window and the simulator does not model: on a
    // 3 ms TTFT that alone is up to -25% (seen in repeated CI runs), hence the wider bound there.
    CHECK(std::abs(v.row("ttft_mean")->rel_error()) <= (v.clients > 1 ? 0.35 : 0.20));
    CHECK(v.row("bytes_up")->measured > 0);
  }
}

TEST_CASE("validate: a wrong calibration is caught (negative control)", "[validate][ci]") {
  // The same tables with 2 ms more transport per message each way: the simulation must miss by far.
  std::ifstream in(ci_calibration());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const char* key : {"up_fixed_s = ", "down_fixed_s = "}) {
    const auto at = text.find(key);
    REQUIRE(at != std::string::npos);
    text.replace(at, text.find('\n', at) - at, std::string(key) + "0.002");
  }
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
  o.sets = {"split.strategy=split-fp16"};
  CHECK_THROWS_WITH(validate_scenario(scenario_path("v260k-s1-fp32-c1-fast"), o),
                    Catch::Matchers::Contains("split.edge_bits") && Catch::Matchers::Contains("no fp16 weights"));
  o.sets = {"server.shared_cores=0"};  // the executor's clients and server always share this machine
  CHECK_THROWS_WITH(validate_scenario(scenario_path("v260k-s1-fp32-c1-fast"), o),
                    Catch::Matchers::Contains("server.shared_cores"));
  o.sets = {"edge.profile=raspberry-pi-5"};
  CHECK_THROWS_WITH(validate_scenario(scenario_path("v260k-s1-fp32-c1-fast"), o),
                    Catch::Matchers::Contains("edge.profile") && Catch::Matchers::Contains("measured executor tables"));
}
