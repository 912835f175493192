#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/ranges.h>

#include "cli_run.hpp"

using splitsim::test::one_line_error;
using splitsim::test::Output;
using splitsim::test::run_splitsim;
using splitsim::test::scratch;

namespace {

const std::string kBad = std::string(SPLITSIM_SOURCE_DIR) + "/tests/golden/bad/";
const std::string kPaper = std::string(SPLITSIM_SOURCE_DIR) + "/scenarios/paper-llama2-7b-xavier-a6000.toml";

}  // namespace

TEST_CASE("cli: estimate on the default scenario", "[cli]") {
  const Output r = run_splitsim({"estimate", kPaper});
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Matchers::Contains("fits"));
  CHECK_THAT(r.out, Catch::Matchers::Contains("TTFT"));
  const Output j =
      run_splitsim({"estimate", kPaper, "--json", "--set", "split.strategy=edge-only", "--set", "split.edge_bits=16"});
  CHECK(j.code == 0);
  CHECK_THAT(j.out, Catch::Matchers::Contains("\"oom\": true"));
}

TEST_CASE("cli: bad input exits 2 with one line naming file and key", "[cli][bad-input]") {
  struct Case {
    std::vector<std::string> args;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {{"estimate", kBad + "malformed.toml"}, "malformed.toml:3:"},
      {{"estimate", kBad + "unknown-model.toml"}, "unknown-model.toml: model: unknown model \"llama9-1t\""},
      {{"estimate", kBad + "unknown-profile.toml"}, "edge.profile: unknown hardware profile \"jetson-nano-9000\""},
      {{"estimate", kBad + "split-out-of-range.toml"}, "split.layer: expected a split point of llama2-7b (0..32), got 33"},
      {{"estimate", kBad + "unitless-rate.toml"}, "workload.rate: expected a frequency like \"0.5/s\", got 0.5"},
      {{"estimate", kBad + "missing-edge.toml"}, "missing-edge.toml: edge: expected a table"},
      {{"estimate", kBad + "no-such-file.toml"}, "no-such-file.toml: cannot open file"},
      {{"estimate", kPaper, "--set", "split.layr=3"}, "(--set): split.layr: expected one of the known keys"},
      {{"estimate", kPaper, "--set", "split.layer=1,2"}, "expected one value here"},
      {{"estimate", kPaper, "--set", "workload.think_time=-2s"}, "workload.think_time: expected a duration"},
      {{"model", "show", "llama9-1t"}, "unknown model \"llama9-1t\""},
  };
  for (const auto& c : cases) {
    INFO(fmt::format("{}", fmt::join(c.args, " ")));
    const Output r = run_splitsim(c.args);
    CHECK(one_line_error(r));
    CHECK_THAT(r.err, Catch::Matchers::Contains(c.expect));
  }
}

TEST_CASE("cli: models and model show", "[cli]") {
  const Output r = run_splitsim({"models"});
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Matchers::Contains("llama2-70b"));
  const Output s = run_splitsim({"model", "show", "stories260k"});
  CHECK(s.code == 0);
  CHECK_THAT(s.out, Catch::Matchers::Contains("valid split points"));
  CHECK_THAT(s.out, Catch::Matchers::Contains("0 1 2 3 4 5"));
}

TEST_CASE("cli: calibrate --out into a folder writes <host>.toml and records the folder's name", "[cli][calibrate]") {
  const std::filesystem::path dir = scratch("calibrate-out");
  const Output r = run_splitsim({"calibrate", "--backend", "cpu", "--quick", "--out", dir.string() + "/"});
  REQUIRE(r.code == 0);
  std::vector<std::filesystem::path> written;
  for (const auto& e : std::filesystem::directory_iterator(dir)) written.push_back(e.path());
  REQUIRE(written.size() == 1);
  CHECK(written[0].extension() == ".toml");
  std::ifstream in(written[0]);
  std::stringstream text;
  text << in.rdbuf();
  // The record names the folder, not the machine's path to it, and never a dangling "--out ".
  CHECK_THAT(text.str(), Catch::Matchers::Contains("command = \"splitsim calibrate --backend cpu --quick --out " +
                                                   dir.filename().string() + "\""));
  std::filesystem::remove_all(dir);
}
