#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "core/scenario.hpp"

#include <algorithm>
#include <thread>

using namespace splitsim;

namespace {

const char* kMinimal = R"(
name = "t"
model = "llama2-7b"
[edge]
profile = "jetson-xavier-nx"
link = "wifi5"
count = 4
[split]
layer = 16
[workload]
prompt_tokens = 100
output_tokens = 20
)";

Scenario load(const std::string& text, std::vector<std::string> sets = {}) {
  auto src = parse_toml_text(text, "s.toml");
  for (const auto& s : sets) {
    auto o = parse_override(s);
    apply_override(*src, o.key, o.values.at(0));
  }
  return scenario_from_source(src);
}

std::string with(const std::string& extra) { return std::string(kMinimal) + extra; }

}  // namespace

TEST_CASE("scenario: a minimal file resolves with defaults", "[scenario]") {
  Scenario s = load(kMinimal);
  CHECK(s.name == "t");
  CHECK(s.device_count() == 4);
  CHECK(s.fleet.at(0).cell_size == 0);
  CHECK(s.split.strategy == "opsc");
  CHECK(s.split.edge_bits == 4);
  CHECK(s.workload.prompt_tokens.kind == "fixed");
  CHECK(s.workload.prompt_tokens.value == 100);
  CHECK(s.codec.tabq_bits == std::vector<int64_t>{2, 3, 4, 6, 8});
  CHECK(s.server.profile == "a6000");
}

TEST_CASE("scenario: overrides change values and are named in errors", "[scenario]") {
  Scenario s = load(kMinimal, {"split.layer=8", "edge.count=100", "workload.think_time=\"3s\""});
  CHECK(s.split.layer == 8);
  CHECK(s.device_count() == 100);
  CHECK(s.workload.think_time == 3.0);
  CHECK_THROWS_WITH(load(kMinimal, {"split.layr=3"}),
                    Catch::Matchers::StartsWith("s.toml (--set): split.layr: expected one of the known keys"));
  CHECK_THROWS_WITH(load(kMinimal, {"split.edge_bits=5"}),
                    "s.toml (--set): split.edge_bits: expected one of 2, 3, 4, 8, 16, 32, got 5");
}

TEST_CASE("scenario: bad input is one line naming file and key", "[scenario][bad-input]") {
  CHECK_THROWS_WITH(load("model = \"llama2-7b\"\n"), "s.toml: edge: expected a table, got nothing (key missing)");
  CHECK_THROWS_WITH(load(with("typo = 1\n")),
                    Catch::Matchers::StartsWith("s.toml: workload.typo: expected one of the known keys"));
  CHECK_THROWS_WITH(load(kMinimal, {"edge.count=0"}),
                    "s.toml (--set): edge.count: expected an integer in [1, 10000000], got 0");
  CHECK_THROWS_WITH(load(kMinimal, {"edge.cell_size=5"}),
                    "s.toml (--set): edge.cell_size: expected at most the group's device count (4), got 5");
  CHECK_THROWS_WITH(load(kMinimal, {"workload.think_time=\"-1s\""}),
                    "s.toml (--set): workload.think_time: expected a duration like \"5ms\", got \"-1s\" (negative)");
  CHECK_THROWS_WITH(load(kMinimal, {"workload.think_time=3"}),
                    "s.toml (--set): workload.think_time: expected a duration like \"5ms\", got 3");
  CHECK_THROWS_WITH(load(kMinimal, {"workload.arrival=poisson"}),
                    "s.toml: workload.rate: expected a frequency like \"0.5/s\", got nothing (key missing)");
  CHECK_THROWS_WITH(load(kMinimal, {"workload.arrival=poisson", "workload.rate=\"-2/s\""}),
                    Catch::Matchers::Contains("workload.rate: expected a frequency like \"0.5/s\", got \"-2/s\" (negative)"));
  CHECK_THROWS_WITH(load(kMinimal, {"workload.max_seq_len=64"}),
                    "s.toml (--set): workload.max_seq_len: expected at least prompt + output tokens (120), got 64");
  CHECK_THROWS_WITH(load(kMinimal, {"split.strategy=magic"}),
                    Catch::Matchers::StartsWith("s.toml (--set): split.strategy: expected one of cloud-only|edge-only|"));
  CHECK_THROWS_WITH(load(kMinimal, {"codec.ts_mode=percentile", "codec.ts_threshold=5"}),
                    Catch::Matchers::Contains("codec.ts_threshold: expected a fraction in [0, 1)"));
}

TEST_CASE("scenario: heterogeneous fleets and length distributions", "[scenario]") {
  Scenario s = load(R"(
model = "llama2-7b"
[[edge.groups]]
name = "a"
profile = "raspberry-pi-5"
link = "wifi6"
count = 40
cell_size = 20
[[edge.groups]]
profile = "jetson-orin-nano"
link = "ethernet-1g"
count = 2
[split]
layer = 4
[workload]
prompt_tokens = { dist = "uniform", min = 10, max = 30 }
output_tokens = { dist = "lognormal", mu = 3.0, sigma = 0.5, min = 4, max = 200 }
)");
  REQUIRE(s.fleet.size() == 2);
  CHECK(s.fleet[0].name == "a");
  CHECK(s.fleet[1].name == "group1");
  CHECK(s.device_count() == 42);
  CHECK(s.workload.prompt_tokens.mean() == 20.0);
  CHECK(s.workload.output_tokens.mean() == Approx(std::exp(3.0 + 0.125)));
  CHECK_THROWS_WITH(load(R"(
model = "m"
[[edge.groups]]
profile = "p"
link = "l"
count = 3
cell_size = 4
[split]
[workload]
)"),
                    "s.toml: edge.groups[0].cell_size: expected at most the group's device count (3), got 4");
}

TEST_CASE("scenario: the resolved JSON is complete and stable", "[scenario]") {
  Scenario a = load(kMinimal);
  Scenario b = load(kMinimal);
  CHECK(a.to_json() == b.to_json());
  CHECK(a.to_json()["split"]["layer"] == 16);
  Scenario c = load(kMinimal, {"split.layer=8"});
  CHECK(a.to_json() != c.to_json());
}

TEST_CASE("scenario: server.shared_cores is a core count or \"auto\"", "[scenario][bad-input]") {
  CHECK(load(kMinimal).server.shared_cores == 0);  // default: every device has its own processor
  CHECK(load(with("[server]\nshared_cores = 3\n")).server.shared_cores == 3);
  const int64_t cores = load(with("[server]\nshared_cores = \"auto\"\n")).server.shared_cores;
  CHECK(cores == std::max<int64_t>(1, std::thread::hardware_concurrency()));
  CHECK(load(kMinimal, {"server.shared_cores=auto"}).server.shared_cores == cores);
  CHECK_THROWS_WITH(load(with("[server]\nshared_cores = \"many\"\n")),
                    Catch::Matchers::Contains("s.toml") && Catch::Matchers::Contains("server.shared_cores") &&
                        Catch::Matchers::Contains("\"auto\" or a core count"));
  CHECK_THROWS_WITH(load(with("[server]\nshared_cores = -1\n")), Catch::Matchers::Contains("server.shared_cores"));
}
