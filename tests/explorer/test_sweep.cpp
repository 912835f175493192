// Sweeps: child processes, resume from the hash cache, invalid points kept with their reason, shards through
// GNU parallel merged back into the unsharded table.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>

#include "core/scenario.hpp"
#include "explorer/csv_read.hpp"
#include "explorer/sweep.hpp"

using namespace splitsim;
namespace fs = std::filesystem;

namespace {
std::string paper() { return data_dir() + "/scenarios/paper-llama2-7b-xavier-a6000.toml"; }
}  // namespace

TEST_CASE("a sweep runs points as child processes, resumes from its cache, keeps failures", "[explorer][sweep]") {
  const std::string out = "/tmp/splitsim-test-sweep";
  fs::remove_all(out);
  SweepSpec spec = spec_from_sets(paper(), {"split.layer=8,16,99", "edge.count=1,4", "workload.output_tokens=8"});
  SweepOptions o;
  o.engine = "analytic";
  o.in_process = false;  // through `splitsim analytic-run`, the same path as `splitsim run`
  o.exe = SPLITSIM_BINARY;
  o.out_dir = out;
  o.jobs = 2;
  o.progress = false;
  SweepResult r = run_sweep(spec, o);
  REQUIRE(r.points.size() == 6);
  CHECK(r.ran == 4);
  int invalid = 0;
  for (const auto& p : r.points) {
    if (p.status == "invalid") {
      ++invalid;
      CHECK(p.reason.find("split.layer") != std::string::npos);
    } else {
      CHECK(p.status == "ok");
      CHECK(fs::exists(p.dir + "/summary.json"));
      CHECK(fs::exists(p.dir + "/requests.csv"));
    }
  }
  CHECK(invalid == 2);
  CsvData t = read_csv(out + "/sweep.csv");
  CHECK(t.rows.size() == 6);
  CHECK(t.column("split.layer") >= 0);
  CHECK(t.column("tpot_s.p99") >= 0);
  CHECK(t.column("reason") >= 0);
  // Resume: nothing runs again.
  SweepResult again = run_sweep(spec, o);
  CHECK(again.ran == 0);
  CHECK(again.cached == 4);
  // An interrupted run (summary missing) is run again.
  fs::remove(r.points[0].dir + "/summary.json");
  CHECK(run_sweep(spec, o).ran == 1);
}

TEST_CASE("three shards through GNU parallel merge into the unsharded table", "[explorer][sweep]") {
  if (std::system("parallel --version > /dev/null 2>&1") != 0) {
    WARN("GNU parallel is not installed: shard test skipped");
    return;
  }
  const std::string base = "/tmp/splitsim-test-shards";
  fs::remove_all(base);
  const std::string exe = SPLITSIM_BINARY;
  const std::string sets = "--set split.layer=4:16:4 --set split.edge_bits=4,8 --set edge.count=1,8 "
                           "--set split.strategy=opsc,split-fp16 --set workload.output_tokens=8 --engine analytic -q";
  std::string whole = fmt::format("{} sweep {} {} --out {}/whole > /dev/null", exe, paper(), sets, base);
  REQUIRE(std::system(whole.c_str()) == 0);
  std::string sharded = fmt::format("parallel --will-cite -j 3 {} sweep {} {} --out {}/shards --shard {{}}/3 "
                                    "::: 1 2 3 > /dev/null",
                                    exe, paper(), sets, base);
  REQUIRE(std::system(sharded.c_str()) == 0);
  REQUIRE(std::system(fmt::format("{} merge {}/shards > /dev/null", exe, base).c_str()) == 0);
  CsvData a = read_csv(base + "/whole/sweep.csv"), b = read_csv(base + "/shards/sweep.csv");
  REQUIRE(a.header == b.header);
  REQUIRE(a.rows.size() == 32);
  REQUIRE(a.rows.size() == b.rows.size());
  // Every cell equal except the wall-clock time a run took.
  const int wall = a.column("wall_s");
  for (size_t r = 0; r < a.rows.size(); ++r)
    for (size_t c = 0; c < a.header.size(); ++c)
      if (static_cast<int>(c) != wall) {
        INFO(a.header[c] << " row " << r);
        CHECK(a.rows[r][c] == b.rows[r][c]);
      }
  // A missing shard is an error naming it.
  fs::remove(base + "/shards/sweep.shard-2-of-3.json");
  CHECK(std::system(fmt::format("{} merge {}/shards 2> /dev/null", exe, base).c_str()) != 0);
}
