#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace {

struct Run {
  int code = -1;
  std::string out;  // stdout and stderr together
};

Run run(const std::string& args) {
  std::string cmd = std::string(SPLITSIM_BIN) + " " + args + " 2>&1";
  Run r;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf{};
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) r.out.append(buf.data(), n);
  int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

size_t lines(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

const std::string kBad = std::string(SPLITSIM_SOURCE_DIR) + "/tests/golden/bad/";
const std::string kPaper = std::string(SPLITSIM_SOURCE_DIR) + "/scenarios/paper-llama2-7b-xavier-a6000.toml";

}  // namespace

TEST_CASE("cli: estimate on the default scenario", "[cli]") {
  Run r = run("estimate " + kPaper);
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Matchers::Contains("fits"));
  CHECK_THAT(r.out, Catch::Matchers::Contains("TTFT"));
  Run j = run("estimate " + kPaper + " --json --set split.strategy=edge-only --set split.edge_bits=16");
  CHECK(j.code == 0);
  CHECK_THAT(j.out, Catch::Matchers::Contains("\"oom\": true"));
}

TEST_CASE("cli: bad input exits 2 with one line naming file and key", "[cli][bad-input]") {
  struct Case {
    std::string args, expect;
  };
  const std::vector<Case> cases = {
      {"estimate " + kBad + "malformed.toml", "malformed.toml:3:"},
      {"estimate " + kBad + "unknown-model.toml", "unknown-model.toml: model: unknown model \"llama9-1t\""},
      {"estimate " + kBad + "unknown-profile.toml", "edge.profile: unknown hardware profile \"jetson-nano-9000\""},
      {"estimate " + kBad + "split-out-of-range.toml", "split.layer: expected a split point of llama2-7b (0..32), got 33"},
      {"estimate " + kBad + "unitless-rate.toml", "workload.rate: expected a frequency like \"0.5/s\", got 0.5"},
      {"estimate " + kBad + "missing-edge.toml", "missing-edge.toml: edge: expected a table"},
      {"estimate " + kBad + "no-such-file.toml", "no-such-file.toml: cannot open file"},
      {"estimate " + kPaper + " --set split.layr=3", "(--set): split.layr: expected one of the known keys"},
      {"estimate " + kPaper + " --set split.layer=1,2", "expected one value here"},
      {"estimate " + kPaper + " --set workload.think_time=-2s", "workload.think_time: expected a duration"},
      {"model show llama9-1t", "unknown model \"llama9-1t\""},
  };
  for (const auto& c : cases) {
    INFO(c.args);
    Run r = run(c.args);
    CHECK(r.code == 2);
    CHECK_THAT(r.out, Catch::Matchers::StartsWith("splitsim: error: ") && Catch::Matchers::Contains(c.expect));
    CHECK(lines(r.out) == 1);
  }
}

TEST_CASE("cli: models and model show", "[cli]") {
  Run r = run("models");
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::Matchers::Contains("llama2-70b"));
  Run s = run("model show stories260k");
  CHECK(s.code == 0);
  CHECK_THAT(s.out, Catch::Matchers::Contains("valid split points"));
  CHECK_THAT(s.out, Catch::Matchers::Contains("0 1 2 3 4 5"));
}
