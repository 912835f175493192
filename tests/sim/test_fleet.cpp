// Fleet behaviour: bandwidth sharing on a cell, determinism, scaling sanity, OOM outputs, bad input.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/metrics.hpp"
#include "hwprofiles/cost_model.hpp"
#include "sim/run.hpp"
#include "sim_test_util.hpp"

using namespace splitsim;
using namespace splitsim::test;

namespace {

std::string cell_of(int64_t n, const std::string& strategy = "split-fp16", int64_t layer = 0) {
  return fmt::format(R"(name = "t-cell"
model = "tinyllama-1.1b"
[edge]
profile = "jetson-orin-nano"
link = "wifi5"
count = {}
cell_size = {}
[server]
profile = "a6000"
max_batch = 64
[split]
strategy = "{}"
layer = {}
group_size = 64
[workload]
arrival = "closed"
think_time = "0s"
requests_per_device = 1
prompt_tokens = 512
output_tokens = 1
max_seq_len = 1024
)",
                     n, n, strategy, layer);
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::filesystem::path temp_dir(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("splitsim-test-sim-" + name + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(p);
  return p;
}

}  // namespace

TEST_CASE("N identical transfers on one shared cell finish together at N x the single time", "[sim][network]") {
  // Split at layer 0: every device uploads its 512-token fp16 prompt block at t = 0 over the same cell link.
  System one = system_from(cell_of(1));
  const double lat = one.fleet[0].link.latency.value + one.backbone.latency.value;
  SimResult r1 = run_sim(one);
  const double single = r1.requests[0].uplink - lat;
  REQUIRE(single > 0.01);
  for (int64_t n : {4, 16}) {
    SimResult rn = run_sim(system_from(cell_of(n)));
    REQUIRE(rn.requests.size() == static_cast<size_t>(n));
    for (const auto& q : rn.requests) CHECK(rel(q.uplink - lat, static_cast<double>(n) * single) < 1e-9);
  }
}

TEST_CASE("the same scenario and seed give byte-identical requests.csv", "[sim][determinism]") {
  std::string text = cell_of(12, "opsc", 4);
  text.replace(text.find("think_time = \"0s\""), 17, "think_time = \"1s\"");
  text.replace(text.find("output_tokens = 1"), 17, "output_tokens = { dist = \"lognormal\", mu = 2.5, sigma = 0.5, min = 2, max = 60 }");
  System sys = system_from(text);
  auto dir = temp_dir("det");
  write_results((dir / "a").string(), sys, run_sim(sys));
  write_results((dir / "b").string(), sys, run_sim(sys));
  std::string a = slurp((dir / "a/requests.csv").string()), b = slurp((dir / "b/requests.csv").string());
  CHECK(a.size() > 500);
  CHECK(a == b);
  std::string other = text;
  other.insert(0, "seed = 99\n");
  write_results((dir / "c").string(), sys, run_sim(system_from(other)));
  CHECK(slurp((dir / "c/requests.csv").string()) != a);
  std::filesystem::remove_all(dir);
}

TEST_CASE("more devices never lower server utilization", "[sim][scaling]") {
  double prev = 0;
  for (int64_t n : {1, 4, 16, 64}) {
    std::string text = one_device("opsc", "");
    text.replace(text.find("count = 1"), 9, fmt::format("count = {}", n));
    text.replace(text.find("requests_per_device = 1"), 23, "requests_per_device = 3\nthink_time = \"2s\"");
    SimResult r = run_sim(system_from(text));
    double u = r.summary()["server_utilization"].get<double>();
    INFO(n << " devices: utilization " << u);
    CHECK(u >= prev);
    prev = u;
  }
  CHECK(prev > 0.1);
}

TEST_CASE("cloud-only keeps the server busier per token than opsc", "[sim][scaling]") {
  const std::string path = std::string(SPLITSIM_SOURCE_DIR) + "/scenarios/paper-llama2-7b-xavier-a6000.toml";
  auto busy = [&](const std::string& strategy) {
    System sys = resolve_system(load_scenario(path, parse_overrides({"split.strategy=" + strategy})));
    return run_sim(sys).summary()["server_busy_per_token_s"].get<double>();
  };
  double cloud = busy("cloud-only"), opsc = busy("opsc");
  CHECK(cloud > opsc);
}

TEST_CASE("an OOM configuration still writes results, every request flagged", "[sim][oom]") {
  std::string text = one_device("edge-only");
  text.replace(text.find("llama2-7b"), 9, "llama2-13b");
  text.replace(text.find("edge_bits = 4"), 13, "edge_bits = 16");
  System sys = system_from(text);
  SimResult r = run_sim(sys);
  auto dir = temp_dir("oom");
  nlohmann::json s = write_results(dir.string(), sys, r);
  CHECK(s["oom"] == true);
  CHECK(s["reason"].get<std::string>().find("jetson-xavier-nx") != std::string::npos);
  CHECK(s["oom_requests"] == 1);
  CHECK(r.requests[0].oom);
  CHECK(std::filesystem::exists(dir / "requests.csv"));
  CHECK(std::filesystem::exists(dir / "config.json"));
  std::filesystem::remove_all(dir);

  // The server's KV memory holds no request: every request is OOM too.
  std::string kv = one_device("opsc");
  kv.replace(kv.find("max_batch = 32"), 14, "max_batch = 32\nkv_memory = \"1MiB\"");
  SimResult k = run_sim(system_from(kv));
  CHECK(k.info["oom"] == true);
  CHECK(k.requests[0].oom);
}

TEST_CASE("bad input is rejected before anything is written", "[sim][input]") {
  const std::string path = std::string(SPLITSIM_SOURCE_DIR) + "/scenarios/pi5-tinyllama-wifi6-cells.toml";
  auto dir = temp_dir("bad");
  for (const char* set : {"edge.groups=[]", "workload.rate=\"-1/s\"", "workload.arrival=\"poisson\"",
                          "split.strategy=\"nope\"", "server.max_batch=0"}) {
    RunOptions o;
    o.scenario = path;
    o.sets = {set};
    o.out = dir.string();
    o.quiet = true;
    INFO(set);
    CHECK_THROWS_AS(run_scenario(o), InputError);
    CHECK_FALSE(std::filesystem::exists(dir));
  }
  // A cell larger than its group.
  std::string text = one_device("opsc");
  text.replace(text.find("count = 1"), 9, "count = 3\ncell_size = 4");
  CHECK_THROWS_AS(system_from(text), InputError);
  std::string zero = one_device("opsc");
  zero.replace(zero.find("count = 1"), 9, "count = 0");
  CHECK_THROWS_AS(system_from(zero), InputError);
}
