// Bad input through the real binary, by class: every flag is checked like a scenario key (exit 2, one line,
// the flag named); an error line stays one line whatever control characters the input held; random finite,
// non-finite, huge and tiny values and ranges fed through --set to run, estimate, sweep and optimize end with
// exit 0 or with exit 2 and one line — never a crash, a hang or a multi-line failure.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "cli_run.hpp"

using splitsim::test::kSmall;
using splitsim::test::one_line_error;
using splitsim::test::Output;
using splitsim::test::run_splitsim;
using splitsim::test::scratch;

TEST_CASE("bad input: every flag is checked like a scenario key", "[cli][bad-input][flags]") {
  struct Case {
    std::vector<std::string> args;
    std::string expect;  // the start of the message after "splitsim: error: "
  };
  const std::vector<std::string> model{"--model", "stories260k"};  // random weights: no model files needed
  auto exec = [&](std::string mode, std::vector<std::string> more) {
    std::vector<std::string> a{"exec", std::move(mode)};
    a.insert(a.end(), model.begin(), model.end());
    a.insert(a.end(), more.begin(), more.end());
    return a;
  };
  const std::vector<Case> cases = {
      {exec("server", {"--split", "1", "--port", "-1"}), "--port: expected an integer in 0..65535, got \"-1\""},
      {exec("server", {"--split", "1", "--port", "65536"}), "--port: expected an integer in 0..65535"},
      {exec("local", {"--split", "-2"}), "--split: expected an integer >= 0, got \"-2\""},
      {exec("local", {"--split", "1", "--uplink", "0Mbps"}), "--uplink: expected a positive rate"},
      {exec("local", {"--split", "1", "--downlink", "0bps"}), "--downlink: expected a positive rate"},
      {exec("local", {"--split", "1", "--uplink", "1e999Mbps"}), "--uplink: expected a rate"},
      {exec("local", {"--split", "1", "--batch-window", "-1ms"}), "--batch-window: expected a duration"},
      {exec("local", {"--split", "1", "--batch-window", "1h"}), "--batch-window: expected a duration of at most 10 s"},
      {exec("local", {"--split", "1", "--delay", "1e308h"}), "--delay: expected a duration"},
      {exec("local", {"--steps", "0"}), "--steps: expected an integer >= 1, got \"0\""},
      {exec("local", {"--steps", "-5"}), "--steps: expected an integer >= 1"},
      {exec("local", {"--temperature", "nan"}), "--temperature: expected a finite number"},
      {exec("local", {"--temperature", "-0.5"}), "--temperature: expected a finite number >= 0"},
      {exec("local", {"--top-p", "inf"}), "--top-p: expected a finite number"},
      {exec("local", {"--top-p", "1e999"}), "--top-p: expected a finite number"},
      {exec("local", {"--split", "1", "--codec", "fp32", "--ts-threshold", "nan"}),
       "--ts-threshold: expected a finite number"},
      {exec("local", {"--split", "1", "--tabq-eps", "-inf"}), "--tabq-eps: expected a finite number"},
      {exec("local", {"--clients", "0", "--split", "1"}), "--clients: expected an integer in 1..4096"},
      {exec("local", {"--split", "1", "--max-inflight", "1KiB"}), "--max-inflight: expected a size in 1MiB..1TB"},
      {exec("server", {"--split", "1", "--max-sessions", "0"}), "--max-sessions: expected an integer in 1..65536"},
      {exec("edge", {"--split", "1", "--connect", "127.0.0.1:70000"}),
       "--connect: expected HOST:PORT with a port in 1..65535"},
      {exec("edge", {"--split", "1", "--connect", "127.0.0.1:"}), "--connect: expected HOST:PORT"},
      {exec("eval", {"--split", "1", "--streams", "0"}), "--streams: expected an integer >= 1"},
      {{"sweep", kSmall, "--jobs", "0"}, "--jobs: Value 0 not in range 1 to 4096"},
      {{"study", kSmall, "--replay", kSmall, "--no-plots", "--out", scratch("replay")}, "--replay " + kSmall + ": expected a scenario with workload.arrival = \"trace\""},
      {{"validate", kSmall, "--batch-window", "nan"}, "--batch-window: expected a finite number"},
      {{"estimate", kSmall, "--set", "split.layer=8\ny=1"},
       "--set split.layer=8\\ny=1: expected KEY=VALUE on one line"},
      {{"estimate", kSmall, "--set", "name=x\r"}, "--set name=x\\r: expected KEY=VALUE on one line"},
  };
  for (const auto& c : cases) {
    std::string shown;
    for (const auto& a : c.args) shown += " " + a;
    INFO("splitsim" << shown);
    const Output o = run_splitsim(c.args);
    INFO(o.err);
    CHECK(one_line_error(o));
    CHECK_THAT(o.err, Catch::Matchers::StartsWith("splitsim: error: " + c.expect));
  }
}

TEST_CASE("bad input: -q is quiet", "[cli][bad-input][flags]") {
  const std::string out = scratch("quiet");
  const Output o =
      run_splitsim({"optimize", kSmall, "--verify", "0", "-q", "--out", out, "--set", "split.edge_bits=8"});
  CHECK(o.code == 0);
  CHECK(o.out.empty());
  CHECK(o.err.empty());
  CHECK(std::filesystem::exists(out + "/chosen.toml"));
  std::filesystem::remove_all(out);
}

TEST_CASE("bad input: control characters in keys and unit strings stay on one line", "[cli][bad-input][one-line]") {
  const std::string dir = scratch("one-line");
  std::string base;
  {
    std::ifstream in(kSmall);
    base.assign(std::istreambuf_iterator<char>(in), {});
  }
  // A quoted key with a newline and a bell in it, at the top level.
  {
    std::ofstream(dir + "/key.toml") << base << "\n\"bad\\nkey\\u0007\" = 1\n";
    const Output o = run_splitsim({"estimate", dir + "/key.toml"});
    INFO(o.err);
    CHECK(one_line_error(o));
    CHECK_THAT(o.err, Catch::Matchers::Contains("bad\\nkey\\x07: expected one of the known keys"));
  }
  // A unit string with a newline in it, in the file and through --set.
  {
    std::string text = base;
    text.replace(text.find("[workload]"), 10, "[workload]\nthink_time = \"5\\nms\"");
    std::ofstream(dir + "/unit.toml") << text;
    const Output o = run_splitsim({"estimate", dir + "/unit.toml"});
    INFO(o.err);
    CHECK(one_line_error(o));
    CHECK_THAT(o.err, Catch::Matchers::Contains("workload.think_time: expected a duration"));
    const Output p = run_splitsim({"estimate", kSmall, "--set", "workload.think_time=\"5\\u000Ams\""});
    INFO(p.err);
    CHECK(one_line_error(p));
  }
  // Keys and values of --set with control characters, and a name with one.
  for (const std::string& set :
       {std::string("split.la\tyer=3"), std::string("split.layer=\x1b[31m"), std::string("name=\"a\\u000Ab\"")}) {
    const Output o = run_splitsim({"estimate", kSmall, "--set", set});
    INFO(set << " -> " << o.err);
    CHECK(one_line_error(o));
  }
  std::filesystem::remove_all(dir);
}

namespace {

// Random values of every kind a hostile or careless user gives: non-finite words, extremes, subnormals,
// log-uniform finite numbers of either sign, integers at the edges of int64, and unit strings whose value
// overflows or underflows after scaling.
std::string random_value(std::mt19937_64& rng) {
  static const std::vector<std::string> fixed = {"nan",
                                                 "-nan",
                                                 "inf",
                                                 "-inf",
                                                 "+inf",
                                                 "1e308",
                                                 "-1e308",
                                                 "1e-310",
                                                 "4.9e-324",
                                                 "0",
                                                 "-0",
                                                 "-1",
                                                 "1",
                                                 "2",
                                                 "3",
                                                 "8",
                                                 "16",
                                                 "1048576",
                                                 "1e300",
                                                 "9223372036854775807",
                                                 "-9223372036854775808",
                                                 "99999999999999999999",
                                                 "1.5",
                                                 "true",
                                                 "\"\"",
                                                 "[]",
                                                 "[nan]",
                                                 "[1e308]",
                                                 "{}",
                                                 "\"1e308h\"",
                                                 "\"1e-310/s\"",
                                                 "\"1e-300s\"",
                                                 "\"1e308/s\"",
                                                 "\"1e19B\"",
                                                 "\"1e16Gbps\"",
                                                 "\"-1ms\"",
                                                 "\"nan s\"",
                                                 "\"inf/s\"",
                                                 "\"0s\"",
                                                 "\"0/s\"",
                                                 "\"1e6s\"",
                                                 "\"1e-6/s\"",
                                                 "\"2s\"",
                                                 "\"0.5/s\"",
                                                 "\"8GiB\""};
  static const std::vector<std::string> units = {"s", "ms", "ns", "h", "/s", "/h", "B", "GiB", "Mbps", "B/s"};
  std::uniform_int_distribution<int> kind(0, 3);
  std::uniform_real_distribution<double> exponent(-320, 308), u(0, 1);
  switch (kind(rng)) {
    case 0:
    case 1:
      return fixed[std::uniform_int_distribution<size_t>(0, fixed.size() - 1)(rng)];
    case 2: {
      const double v = (u(rng) < 0.2 ? -1 : 1) * std::pow(10.0, exponent(rng));
      return fmt::format("{}", v);
    }
    default: {
      const double v = std::pow(10.0, exponent(rng));
      return fmt::format("\"{}{}\"", v, units[std::uniform_int_distribution<size_t>(0, units.size() - 1)(rng)]);
    }
  }
}

std::string random_range(std::mt19937_64& rng) {
  static const std::vector<std::string> ranges = {"0:1e300",
                                                  "nan:1",
                                                  "0:inf",
                                                  "-inf:0",
                                                  "0:32:1e-300",
                                                  "0:32:0",
                                                  "0:32:-1",
                                                  "1:4",
                                                  "0:2:0.5",
                                                  "-5:5",
                                                  "1e300:1e301",
                                                  "2:2",
                                                  "3:1",
                                                  "1,2,3",
                                                  "1,nan",
                                                  "1e16:1e16:1",
                                                  "9e15:9.00000000000001e15",
                                                  "0:1e-300:1e-310"};
  return ranges[std::uniform_int_distribution<size_t>(0, ranges.size() - 1)(rng)];
}

// `runs` invocations of `command` with one to three random --set keys (one or two for the grid commands, whose
// valid axes multiply); each must end with exit 0 and nothing on stderr (a SimGrid deadlock report with exit 0
// is a failure) or with exit 2 and one line.
void fuzz(const std::string& command, const std::vector<std::string>& keys, uint64_t seed, int runs,
          const std::vector<std::string>& extra) {
  std::mt19937_64 rng(seed);
  {  // the same command with a valid setting succeeds: what the random ones are measured against
    std::vector<std::string> args{command, kSmall, "--set",
                                  command == "sweep" || command == "optimize" ? "split.layer=1,2" : "split.layer=2"};
    args.insert(args.end(), extra.begin(), extra.end());
    const Output o = run_splitsim(args);
    INFO(o.err);
    REQUIRE(o.code == 0);
  }
  int ok = 0, refused = 0;
  for (int i = 0; i < runs; ++i) {
    std::vector<std::string> args{command, kSmall};
    const bool grid = command == "sweep" || command == "optimize";
    const int n = std::uniform_int_distribution<int>(1, grid ? 2 : 3)(rng);
    for (int k = 0; k < n; ++k) {
      const std::string& key = keys[std::uniform_int_distribution<size_t>(0, keys.size() - 1)(rng)];
      const bool range = grid && rng() % 2 == 0;
      args.push_back("--set");
      args.push_back(key + "=" + (range ? random_range(rng) : random_value(rng)));
    }
    args.insert(args.end(), extra.begin(), extra.end());
    std::string shown;
    for (const auto& a : args) shown += " " + a;
    INFO("splitsim" << shown);
    const Output o = run_splitsim(args);
    INFO("exit " << o.code << ", stderr: " << o.err);
    const bool good = (o.code == 0 && o.err.empty()) || one_line_error(o);
    CHECK(good);
    (o.code == 0 ? ok : refused) += 1;
  }
  CHECK(refused > 0);
  INFO(ok << " accepted, " << refused << " refused");
  CHECK(ok + refused == runs);
}

const std::vector<std::string> kScenarioKeys = {"split.layer",
                                                "split.edge_bits",
                                                "split.cloud_bits",
                                                "split.kv_bits",
                                                "split.group_size",
                                                "codec.ts_threshold",
                                                "codec.tabq_eps",
                                                "codec.mean_bits",
                                                "codec.outliers_per_token",
                                                "codec.uniform_bits",
                                                "codec.tabq_bits",
                                                "codec.ts_mode",
                                                "workload.think_time",
                                                "workload.rate",
                                                "workload.arrival",
                                                "workload.max_seq_len",
                                                "workload.prompt_tokens",
                                                "workload.output_tokens",
                                                "server.kv_memory",
                                                "server.max_batch",
                                                "server.shared_cores",
                                                "seed",
                                                "split.strategy"};

}  // namespace

TEST_CASE("bad input: random values through --set for estimate", "[cli][bad-input][fuzz]") {
  std::vector<std::string> keys = kScenarioKeys;
  keys.insert(keys.end(), {"edge.count", "edge.cell_size", "workload.requests_per_device"});
  fuzz("estimate", keys, 1, 60, {});
}

TEST_CASE("bad input: random values through --set for run", "[cli][bad-input][fuzz]") {
  const std::string out = scratch("run");
  // Not the fleet size or the request count: valid huge values of those are long runs, not bad input.
  fuzz("run", kScenarioKeys, 2, 50, {"--quiet", "--out", out});
  std::filesystem::remove_all(out);
}

TEST_CASE("bad input: random values and ranges through --set for sweep", "[cli][bad-input][fuzz]") {
  const std::string out = scratch("sweep");
  std::vector<std::string> keys = kScenarioKeys;
  keys.insert(keys.end(), {"edge.count", "workload.requests_per_device"});
  fuzz("sweep", keys, 3, 40, {"-q", "--engine", "analytic", "--out", out});
  std::filesystem::remove_all(out);
}

TEST_CASE("bad input: random values and ranges through --set for optimize", "[cli][bad-input][fuzz]") {
  const std::string out = scratch("optimize");
  std::vector<std::string> keys = kScenarioKeys;
  keys.insert(keys.end(), {"edge.count"});
  fuzz("optimize", keys, 4, 40, {"-q", "--verify", "1", "--engine", "analytic", "--out", out});
  std::filesystem::remove_all(out);
}
