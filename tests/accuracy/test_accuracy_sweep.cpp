// The contract between `splitsim exec accuracy-sweep` and the explorer: a reduced sweep on the real model
// writes accuracy.csv; the explorer's reader accepts every row, and its accuracy model answers a stories260K
// OPSC scenario with the measured row (not the estimate), with the loss the row's perplexities give.
#include <catch2/catch.hpp>

#include <filesystem>
#include <set>

#include "core/scenario.hpp"
#include "executor/methods/method_run.hpp"
#include "executor/model_files.hpp"
#include "executor/linear.hpp"
#include "explorer/accuracy.hpp"
#include "explorer/csv_read.hpp"
#include "hwprofiles/system.hpp"

using namespace splitsim;

TEST_CASE("a quick accuracy sweep writes the rows the explorer's accuracy model uses", "[accuracy][real]") {
  auto dir = find_model_dir();
  if (!dir) {
    WARN("stories260K not found (set SPLITSIM_MODEL_DIR or place shared/models/stories260K above the repo): skipped");
    return;
  }
  namespace fs = std::filesystem;
  const fs::path out = fs::temp_directory_path() / "splitsim-test-accuracy-sweep";
  fs::remove_all(out);
  ExecOptions o;
  o.checkpoint = *dir + "/stories260K.bin";
  o.group_size = 32;
  o.streams = 4;
  o.stream_len = 48;
  o.quiet = true;
  AccuracySweepOptions a;
  a.quick = true;
  a.out = out.string();
  CalibrationOptions c;
  c.streams = 2;
  c.length = 48;
  exec_accuracy_sweep(o, a, c);

  const std::string csv = (out / "accuracy.csv").string();
  REQUIRE(fs::exists(csv));
  REQUIRE(fs::exists(out / "config.json"));
  auto rows = read_accuracy_csv(csv);
  REQUIRE(rows.size() == 9);
  std::set<std::string> methods;
  for (const auto& r : rows) {
    methods.insert(r.method);
    CHECK(r.model == "stories260k");
    CHECK(r.split == 2);
    CHECK(r.kv_bits == 16);
    CHECK(r.group_size == 32);
    CHECK(r.perplexity_ref == Approx(rows[0].perplexity_ref));  // the same evaluation streams for every method
    CHECK(r.perplexity > 0);
    CHECK(r.kl >= 0);
    CHECK(r.agreement > 0.3);
  }
  CHECK(methods == std::set<std::string>{"rtn", "smoothquant", "omniquant-lwc", "atom", "llm-int8", "opsc"});
  // The extra columns are there and consistent: bits with headers above bits without.
  CsvData d = read_csv(csv);
  for (const char* col : {"edge_bits_per_weight", "server_bits_per_weight", "wire_bits_per_element",
                          "wire_payload_bits_per_element", "wire_prefill_bits_per_element", "edge_memory_bytes"})
    REQUIRE(d.column(col) >= 0);
  for (size_t r = 0; r < d.rows.size(); ++r) {
    const auto row = d.row_map(r);
    CHECK(std::stod(row.at("wire_bits_per_element")) > std::stod(row.at("wire_prefill_bits_per_element")));
    CHECK(std::stod(row.at("wire_prefill_bits_per_element")) > std::stod(row.at("wire_payload_bits_per_element")));
  }

  // The explorer: stories260K split at 2, OPSC with 4-bit edge and 8-bit server weights, the default codec.
  Scenario sc = load_scenario(data_dir() + "/scenarios/stories260k-local.toml");
  sc.split.strategy = "opsc";
  sc.split.layer = 2;
  sc.split.edge_bits = 4;
  sc.split.cloud_bits = 8;
  sc.split.group_size = 32;
  System sys = resolve_system(sc);
  AccuracyModel am = AccuracyModel::load("", csv);
  AccuracyResult res = am.evaluate(sys);
  CHECK(res.measured);
  const MeasuredAccuracy* opsc = nullptr;
  for (const auto& r : rows)
    if (r.method == "opsc" && r.edge_bits == 4 && r.cloud_bits == 8) opsc = &r;
  REQUIRE(opsc);
  CHECK(res.loss == Approx(opsc->perplexity / opsc->perplexity_ref - 1));
  CHECK(res.kl == Approx(opsc->kl));
  // A configuration the sweep did not measure (3-bit edge) falls back to the labelled estimate.
  sc.split.edge_bits = 3;
  CHECK_FALSE(am.evaluate(resolve_system(sc)).measured);
  fs::remove_all(out);
}
