// Replaying a request trace: arrivals and lengths as the trace gives them, requests given to devices as the
// scenario says, and the closed form for a request that meets no other.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>

#include "hwprofiles/cost_model.hpp"
#include "sim/workload.hpp"
#include "sim_test_util.hpp"
#include "../temp_file.hpp"

using namespace splitsim;
using namespace splitsim::test;

namespace {

std::string trace_file(const std::string& name, const std::string& text) {
  return write_temp_file("splitsim-test-trace-sim", name, text);
}

std::string trace_scenario(const std::string& trace, int64_t devices, const std::string& extra = "") {
  return R"(name = "t-trace"
model = "llama2-7b"
[edge]
profile = "jetson-xavier-nx"
link = "wifi5"
count = )" + std::to_string(devices) + R"(
[server]
profile = "a6000"
max_batch = 32
[split]
strategy = "opsc"
layer = 16
edge_bits = 4
cloud_bits = 8
[workload]
arrival = "trace"
trace = ")" + trace + R"("
trace_format = "generic"
max_seq_len = 1024
)" + extra;
}

}  // namespace

TEST_CASE("trace replay: requests that meet no other take the closed form, at the trace's times", "[sim][trace]") {
  const std::string t = trace_file("alone.csv",
                                   "arrival_s,prompt_tokens,output_tokens,device\n"
                                   "100,64,16,0\n1100,200,40,2\n2100,30,8,1\n");
  const System sys = system_from(trace_scenario(t, 3));
  const CostModel cost(sys);
  for (bool full : {false, true}) {
    const SimResult r = run_sim(sys, full);
    REQUIRE(r.requests.size() == 3);
    std::map<int64_t, RequestRecord> by_device;
    for (const auto& q : r.requests) by_device[q.device] = q;
    const std::vector<std::tuple<int64_t, double, int64_t, int64_t>> want = {{0, 0, 64, 16}, {2, 1000, 200, 40}, {1, 2000, 30, 8}};
    for (const auto& [d, at, p, o] : want) {
      INFO("device " << d << (full ? " full" : " fast"));
      const RequestRecord& q = by_device.at(d);
      CHECK(q.arrival == Approx(at));
      CHECK(q.prompt_tokens == p);
      CHECK(q.output_tokens == o);
      const Estimate e = cost.estimate(0, p, o);
      CHECK(rel(q.ttft, e.ttft) < 1e-9);
      CHECK(rel(q.e2e, e.e2e) < 1e-9);
    }
  }
}

TEST_CASE("trace replay: round-robin, random and thinned assignment to devices", "[sim][trace]") {
  std::string text = "arrival_s,prompt_tokens,output_tokens\n";
  for (int i = 0; i < 1000; ++i) text += std::to_string(i) + ",32," + std::to_string(4 + i % 7) + "\n";
  const std::string t = trace_file("many.csv", text);
  const Workload rr = system_from(trace_scenario(t, 3)).scenario.workload;
  FleetRequests f = fleet_requests(rr, 1, 3);
  CHECK(f.count(0) == 334);
  CHECK(f.count(1) == 333);
  CHECK(f.count(2) == 333);
  CHECK(f.at(1, 0).arrival == 1.0);  // request 1 of the trace
  CHECK(f.at(1, 1).arrival == 4.0);
  const Workload rnd = system_from(trace_scenario(t, 3, "device_map = \"random\"\n")).scenario.workload;
  const FleetRequests a = fleet_requests(rnd, 1, 3), b = fleet_requests(rnd, 1, 3), c = fleet_requests(rnd, 2, 3);
  CHECK(a.first == b.first);
  CHECK(a.first != c.first);
  CHECK(a.specs.size() == 1000);
  for (int64_t d = 0; d < 3; ++d)
    for (size_t r = 1; r < a.count(d); ++r) CHECK(a.at(d, r - 1).arrival <= a.at(d, r).arrival);
  // Thinned to 0.05 requests/s per device: 3 x 0.05 x 999 s = 150 of the 1000, binomially.
  const Workload thin = system_from(trace_scenario(t, 3, "device_map = \"thin\"\nrate = \"0.05/s\"\n")).scenario.workload;
  const double kept = static_cast<double>(fleet_requests(thin, 1, 3).specs.size());
  CHECK(std::abs(kept - 150) < 4 * std::sqrt(150 * 0.85));
}

TEST_CASE("trace replay: a trace workload takes no synthetic lengths, and its window must hold requests",
          "[sim][trace][input]") {
  const std::string t = trace_file("two.csv", "arrival_s,prompt_tokens,output_tokens\n0,10,10\n5,2000,10\n");
  CHECK_THROWS_WITH(system_from(trace_scenario(t, 1, "prompt_tokens = 128\n")),
                    Catch::Contains("workload.prompt_tokens: expected nothing with arrival = \"trace\""));
  CHECK_THROWS_WITH(system_from(trace_scenario(t, 1, "window = [100, 200]\n")),
                    Catch::Contains("workload.window: expected a window holding requests"));
  CHECK_THROWS_WITH(system_from(trace_scenario("/nonexistent.csv", 1)), Catch::Contains("workload.trace: expected a trace file"));
  const Scenario sc = system_from(trace_scenario(t, 1, "too_long = \"drop\"\n")).scenario;
  CHECK(sc.workload.trace.selected.requests.size() == 1);
  CHECK(sc.workload.trace.selected.dropped == 1);
  CHECK(sc.to_json()["workload"]["trace"]["dropped"] == 1);
}

TEST_CASE("trace replay: a max_seq_len set after loading clips the trace again", "[sim][trace]") {
  const std::string t = trace_file("long.csv", "arrival_s,prompt_tokens,output_tokens\n0,10,10\n5,600,300\n");
  Scenario sc = system_from(trace_scenario(t, 1)).scenario;  // max_seq_len 1024: nothing clipped
  REQUIRE(sc.workload.trace.selected.clipped == 0);
  Scenario shorter;
  shorter.workload.max_seq_len = 512;
  find_knob("workload.max_seq_len")->copy(shorter, sc);
  CHECK(sc.workload.trace.selected.clipped == 1);
  CHECK(sc.workload.prompt_tokens.upper_bound() == 511);
  CHECK(sc.workload.output_tokens.upper_bound() == 10);  // the clipped request keeps 1 output token
}
