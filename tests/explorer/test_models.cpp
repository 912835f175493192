// The analytic fleet model, the codec model and the accuracy model.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include "core/scenario.hpp"
#include "explorer/accuracy.hpp"
#include "explorer/analytic_run.hpp"
#include "explorer/fleet_model.hpp"

using namespace splitsim;

namespace {
System paper(std::vector<std::string> sets = {}) {
  return resolve_system(load_scenario(data_dir() + "/scenarios/paper-llama2-7b-xavier-a6000.toml", parse_overrides(sets)));
}
}  // namespace

TEST_CASE("one device alone: the fleet model equals the cost model's closed form", "[explorer][fleet]") {
  for (const char* strategy : {"opsc", "cloud-only", "split-fp16"}) {
    System sys = paper({std::string("split.strategy=") + strategy, "split.layer=8"});
    CostModel cm(sys);
    FleetEstimate f = estimate_fleet(cm);
    Estimate e = cm.estimate(0, 128, 128);
    INFO(strategy);
    CHECK(f.mean_tpot() == Approx(e.tpot).epsilon(0.02));
    CHECK(f.mean_ttft() == Approx(e.ttft).epsilon(1e-9));
    CHECK_FALSE(f.infeasible);
  }
}

TEST_CASE("more devices: latency does not fall, server time per token does", "[explorer][fleet]") {
  double tpot = 0, load = 1e30;
  for (int n : {1, 4, 16, 64, 256}) {
    System sys = paper({"edge.count=" + std::to_string(n)});
    FleetEstimate f = estimate_fleet(CostModel(sys));
    CHECK(f.mean_tpot() >= tpot * (1 - 1e-12));
    CHECK(f.server_busy_per_token <= load * (1 + 1e-12));
    tpot = f.mean_tpot();
    load = f.server_busy_per_token;
  }
}

TEST_CASE("cloud-only beyond the batch limit: k cohorts of max_batch share the server", "[explorer][fleet]") {
  System sys = paper({"split.strategy=cloud-only", "edge.count=64", "server.max_batch=32"});
  CostModel cm(sys);
  FleetEstimate f = estimate_fleet(cm);
  const double ctx = 128 + 64;
  CHECK(f.capacity == 32);
  CHECK(f.mean_tpot() == Approx(2 * cm.server_step(32, 32 * ctx)).epsilon(1e-9));
}

TEST_CASE("an edge that cannot hold its layers is infeasible with a reason", "[explorer][fleet]") {
  System sys = paper({"split.layer=32", "split.edge_bits=16"});
  FleetEstimate f = estimate_fleet(CostModel(sys));
  CHECK(f.infeasible);
  CHECK(f.reason.find("edge out of memory") != std::string::npos);
  auto s = analytic_summary(sys, f);
  CHECK(s["oom"] == true);
  CHECK(s["completed"] == 0);
}

TEST_CASE("codec model: a looser error budget needs fewer bits, TS removes the massive channels", "[explorer][codec]") {
  ActivationModel a;
  CodecConfig c;
  c.ts_mode = "sigma";
  c.ts_threshold = 6;
  c.tabq_eps = 1e-3;
  CodecEstimate tight = tabq_stats(c, 4096, a);
  c.tabq_eps = 3e-2;
  CodecEstimate loose = tabq_stats(c, 4096, a);
  CHECK(loose.mean_bits < tight.mean_bits);
  CHECK(tight.relative_mse <= 1e-3);
  CHECK(tight.outliers_per_token >= a.massive_channels);
  c.ts_mode = "none";
  CHECK(tabq_stats(c, 4096, a).outliers_per_token == 0);
  // Without TS the massive channels stretch a uniform quantizer's range: far above the TAB-Q budget.
  CHECK(uniform_stats(8, 4096, a).relative_mse > 1e-2);
}

TEST_CASE("accuracy: estimates from the table, measured rows where they match", "[explorer][accuracy]") {
  const std::string csv = "/tmp/splitsim-test-accuracy.csv";
  {
    std::ofstream f(csv);
    f << "method,model,split,edge_bits,cloud_bits,kv_bits,group_size,ts_mode,ts_threshold,tabq_eps,tabq_bits,"
         "uniform_bits,tokens,perplexity,perplexity_ref,kl,agreement\n"
      << "opsc,llama2-7b,16,4,8,16,128,,,,,,1000,5.6,5.0,0.01,0.95\n";
  }
  AccuracyModel am = AccuracyModel::load("", csv);
  System sys = paper();
  AccuracyResult m = am.evaluate(sys);
  CHECK(m.measured);
  CHECK(std::string(m.label()) == "measured");
  CHECK(m.loss == Approx(0.12));
  CHECK(m.agreement == Approx(0.95));
  // Another split layer is not measured: estimated from the table.
  AccuracyResult e = am.evaluate(paper({"split.layer=8"}));
  CHECK_FALSE(e.measured);
  CHECK(std::string(e.label()) == "estimated");
  // Published Llama-2-7B INT4-g128 RTN vs FP16 (5.73 / 5.47) bounds a 4-bit edge's share.
  CHECK(e.loss > 0);
  CHECK(e.loss < 5.73 / 5.47 - 1 + 0.01);
  // fp16 on both sides with an fp16 wire and fp16 KV loses nothing.
  CHECK(am.evaluate(paper({"split.strategy=split-fp16"})).loss == Approx(0).margin(1e-12));
  // Lower bits cost more.
  CHECK(am.weight_loss("llama2-7b", 3) > am.weight_loss("llama2-7b", 4));
  CHECK(am.weight_loss("llama2-7b", 4) > am.weight_loss("llama2-7b", 8));
  std::remove(csv.c_str());
}
