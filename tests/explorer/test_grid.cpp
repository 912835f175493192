// Sweep grids: --set lists and ranges, sweep files, exclusions, shards.
#include <catch2/catch.hpp>

#include <limits>
#include <set>

#include "core/error.hpp"
#include "core/scenario.hpp"
#include "explorer/grid.hpp"

using namespace splitsim;

TEST_CASE("grid: --set lists and ranges become axes, single values stay fixed", "[explorer][grid]") {
  SweepSpec s = spec_from_sets("x.toml", {"split.layer=0:8:4", "split.edge_bits=2,4", "workload.output_tokens=16"});
  REQUIRE(s.axes.size() == 2);
  CHECK(s.axes[0].values == std::vector<std::string>{"0", "4", "8"});
  CHECK(s.fixed.size() == 1);
  auto pts = expand_grid(s);
  REQUIRE(pts.size() == 6);
  // First axis outermost; every point carries fixed + axis overrides.
  CHECK(pts[1].values[0].second == "0");
  CHECK(pts[1].values[1].second == "4");
  CHECK(pts[2].values[0].second == "4");
  CHECK(pts[5].overrides.size() == 3);
  CHECK(pts[5].index == 5);
}

TEST_CASE("normalized values compare equal whatever their spelling", "[explorer][grid]") {
  CHECK(normalize_value("opsc") == "\"opsc\"");
  CHECK(normalize_value("\"opsc\"") == "\"opsc\"");
  CHECK(normalize_value("[2,4, 8]") == "[2, 4, 8]");
  CHECK(display_value("\"cloud-only\"") == "cloud-only");
  CHECK(display_value("8") == "8");
}

TEST_CASE("exclusions drop matching points and the rest keep consecutive indices", "[explorer][grid]") {
  SweepSpec s = spec_from_sets("x.toml", {"split.strategy=cloud-only,opsc", "split.layer=4,8,12"});
  s.exclude.push_back(ExcludeRule{{{"split.strategy", {"\"cloud-only\""}}, {"split.layer", {"8", "12"}}}});
  auto pts = expand_grid(s);
  REQUIRE(pts.size() == 4);
  for (size_t i = 0; i < pts.size(); ++i) CHECK(pts[i].index == static_cast<int64_t>(i));
  CHECK(display_value(pts[0].values[0].second) == "cloud-only");
  CHECK(display_value(pts[1].values[0].second) == "opsc");
}

TEST_CASE("shards partition the grid", "[explorer][grid]") {
  std::set<int64_t> seen;
  for (int i = 1; i <= 3; ++i) {
    Shard sh = parse_shard(std::to_string(i) + "/3");
    for (int64_t p = 0; p < 20; ++p)
      if (sh.contains(p)) CHECK(seen.insert(p).second);
  }
  CHECK(seen.size() == 20);
  CHECK_THROWS_AS(parse_shard("0/3"), InputError);
  CHECK_THROWS_AS(parse_shard("4/3"), InputError);
  CHECK_THROWS_AS(parse_shard("two"), InputError);
}

TEST_CASE("the shipped sweep files load and expand", "[explorer][grid]") {
  for (const char* f : {"/scenarios/sweeps/paper-devices.toml", "/scenarios/sweeps/paper-split-bits.toml"}) {
    SweepSpec s = load_sweep_file(data_dir() + f);
    auto pts = expand_grid(s);
    CHECK(pts.size() > 1);
    CHECK(static_cast<int64_t>(pts.size()) <= grid_size(s));
    for (const auto& p : pts) CHECK_NOTHROW(load_scenario(s.scenario, p.overrides));
  }
}

TEST_CASE("a malformed sweep file names the file and key", "[explorer][grid]") {
  auto path = std::string("/tmp/splitsim-test-bad-sweep.toml");
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("scenario = \"x.toml\"\n[axes]\n\"split.layer\" = []\n", f);
  std::fclose(f);
  try {
    load_sweep_file(path);
    FAIL("expected InputError");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("axes.split.layer") != std::string::npos);
  }
  std::remove(path.c_str());
}

TEST_CASE("grid: sizes never overflow, and a grid above the limit is refused naming its axes",
          "[explorer][grid][bad-input]") {
  SweepSpec s = spec_from_sets(
      "x.toml", {"split.layer=0:99999", "edge.count=1:100000", "seed=0:99999", "workload.max_seq_len=1:100000"});
  CHECK(grid_size(s) == std::numeric_limits<int64_t>::max());  // 10^20 saturates instead of wrapping
  CHECK_THROWS_WITH(expand_grid(s),
                    Catch::Matchers::StartsWith("command line: expected a grid of at most 10000000 points, "
                                                "got more than 2^63 = split.layer (100000) x edge.count"));
  SweepSpec t = spec_from_sets("x.toml", {"split.layer=0:99999", "edge.count=1:200"});
  CHECK(grid_size(t) == 20'000'000);
  CHECK_THROWS_WITH(expand_grid(t),
                    Catch::Matchers::Contains("got 20000000 = split.layer (100000) x edge.count (200)"));
  // Values with control characters stay one TOML value.
  CHECK(normalize_value("\"a\\u000Ab\"") == "\"a\\u000Ab\"");
}
