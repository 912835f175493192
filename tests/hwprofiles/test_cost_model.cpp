#include <catch2/catch.hpp>

#include <cstdlib>

#include "core/error.hpp"
#include "hwprofiles/cost_model.hpp"

using namespace splitsim;

namespace {

// Points data_dir() at a fixture tree for the lifetime of the object.
struct DataDir {
  explicit DataDir(const std::string& sub) { setenv("SPLITSIM_DATA_DIR", (std::string(SPLITSIM_SOURCE_DIR) + sub).c_str(), 1); }
  ~DataDir() { unsetenv("SPLITSIM_DATA_DIR"); }
};

std::string repo(const std::string& rel) { return std::string(SPLITSIM_SOURCE_DIR) + "/" + rel; }

}  // namespace

// Every number below is worked out by hand from tests/golden/foundation (toy model d=8, f=16, 2 heads of 4, one
// KV head; edge 1e6 flop/s and 1 MB/s at efficiency 0.5 with 1 ms launches; server 1e8 flop/s, 10 MB/s; link
// 1 MB/s up, 2 MB/s down, 10 ms; backbone 10 MB/s, 0 ms), independently of the code.
TEST_CASE("cost model: hand-computed toy example", "[cost]") {
  DataDir dd("/tests/golden/foundation");
  Scenario sc = load_scenario(repo("tests/golden/foundation/scenarios/toy.toml"));
  System sys = resolve_system(sc);
  CostModel cm(sys);

  // Edge decode step: per layer, matmuls memory-bound (1312 B at 5e5 B/s) + 8 launches, attention compute-bound
  // (32 t flop at 5e5 flop/s) + 1 launch.
  CHECK(cm.edge_step(0, 5) == Approx(2 * (0.002624 + 0.008 + 0.001 + 6.4e-5 * 5)).epsilon(1e-12));
  // Server step at batch 1: 2 layers of (1.312e-4 + 1.6e-6 t) + head 5.12e-5.
  CHECK(cm.server_step(1, 5.0) == Approx(2 * (1.312e-4 + 1.6e-6 * 5) + 5.12e-5).epsilon(1e-12));
  // Batching: the weights are read once for the batch, the KV per sequence.
  CHECK(cm.server_step(2, 10.0) == Approx(2 * (1440 / 1e7 + 160 / 1e7) + 5.12e-5).epsilon(1e-12));
  // Wire: frame 16 B + codec header 16 B + 8 fp16 values per token.
  CHECK(cm.uplink_bytes(1) == 48);
  CHECK(cm.uplink_bytes(4) == 96);
  CHECK(cm.downlink_bytes() == 20);
  CHECK(cm.transfer_up(0, 48) == Approx(0.010048).epsilon(1e-12));
  CHECK(cm.transfer_down(0, 20) == Approx(0.01001).epsilon(1e-12));

  // A decode step at context t: edge 0.023248 + 1.28e-4 t, encode 3.16e-3 (80 B + 3 launches), uplink 0.010048,
  // server codec 8e-6, server 3.136e-4 + 3.2e-6 t, downlink 0.01001: 0.0467876 + 1.312e-4 t; steps at t = 5, 6.
  Estimate e = cm.estimate(0, 4, 3);
  CHECK(e.prefill.edge_compute == Approx(0.037712).epsilon(1e-12));
  CHECK(e.prefill.encode == Approx(0.003448).epsilon(1e-12));
  CHECK(e.prefill.uplink == Approx(0.010096).epsilon(1e-12));
  CHECK(e.prefill.server_decode == Approx(2.24e-5).epsilon(1e-12));
  CHECK(e.prefill.server_compute == Approx(4.16e-4).epsilon(1e-12));
  CHECK(e.ttft == Approx(0.0617044).epsilon(1e-12));
  CHECK(e.tpot == Approx(0.0475092).epsilon(1e-12));
  CHECK(e.e2e == Approx(0.1567228).epsilon(1e-12));
  CHECK(e.bytes_up_total == 192);
  CHECK(e.bytes_down_total == 60);

  CHECK(e.edge_memory.weights == 2880);
  CHECK(e.edge_memory.kv_cache == 512);
  CHECK(e.edge_memory.workspace == 1088);
  CHECK(e.edge_memory.runtime == 1000);
  CHECK(e.edge_memory.total() == 5480);
  CHECK_FALSE(e.edge_memory.oom());
  CHECK(cm.server_weight_bytes() == 2896);
}

TEST_CASE("cost model: the paper setting's memory verdicts", "[cost]") {
  const std::string path = repo("scenarios/paper-llama2-7b-xavier-a6000.toml");
  // The whole Llama-2-7B in fp16 does not fit the 8 GB Xavier NX...
  {
    System sys = resolve_system(load_scenario(path, parse_overrides({"split.strategy=edge-only", "split.edge_bits=16"})));
    MemoryBreakdown m = CostModel(sys).edge_memory(0);
    CHECK(m.weights > 12.5 * (1 << 30));
    CHECK(m.oom());
  }
  // ...while a 4-bit front end of 16 layers with a 2048-token fp16 KV cache does.
  {
    System sys = resolve_system(load_scenario(path, parse_overrides({"split.layer=16", "split.edge_bits=4"})));
    CHECK(sys.scenario.workload.max_seq_len == 2048);
    MemoryBreakdown m = CostModel(sys).edge_memory(0);
    CHECK(m.kv_cache == 2048.0 * 16 * 2 * 4096 * 2);
    CHECK(m.weights < 2.0 * (1 << 30));
    CHECK_FALSE(m.oom());
  }
}

TEST_CASE("cost model: strategies order as physics says", "[cost]") {
  const std::string path = repo("scenarios/paper-llama2-7b-xavier-a6000.toml");
  auto est = [&](std::vector<std::string> sets) {
    System sys = resolve_system(load_scenario(path, parse_overrides(sets)));
    return CostModel(sys).estimate(0, 128, 128);
  };
  Estimate cloud = est({"split.strategy=cloud-only"});
  Estimate opsc = est({"split.strategy=opsc"});
  Estimate fp16 = est({"split.strategy=split-fp16"});
  Estimate uni = est({"split.strategy=split-uniform"});
  CHECK(cloud.edge_memory.total() == 0);
  CHECK(cloud.bytes_up_per_token == 0);
  CHECK(cloud.server_busy_per_token > opsc.server_busy_per_token);  // the server runs 32 layers instead of 16
  CHECK(opsc.bytes_up_per_token < uni.bytes_up_per_token);           // ~4 bits vs 8 bits per element
  CHECK(uni.bytes_up_per_token < fp16.bytes_up_per_token);
  CHECK(opsc.tpot < fp16.tpot);                                      // 4-bit edge weights stream faster
  CHECK(opsc.edge_memory.weights < fp16.edge_memory.weights / 3);
}

TEST_CASE("cost model: resolving names the scenario key on bad references", "[cost][bad-input]") {
  const std::string bad = repo("tests/golden/bad/");
  CHECK_THROWS_WITH(resolve_system(load_scenario(bad + "unknown-model.toml")),
                    Catch::Matchers::StartsWith(bad + "unknown-model.toml: model: unknown model \"llama9-1t\""));
  CHECK_THROWS_WITH(resolve_system(load_scenario(bad + "unknown-profile.toml")),
                    Catch::Matchers::StartsWith(bad + "unknown-profile.toml: edge.profile: unknown hardware profile"));
  CHECK_THROWS_WITH(resolve_system(load_scenario(bad + "split-out-of-range.toml")),
                    bad + "split-out-of-range.toml: split.layer: expected a split point of llama2-7b (0..32), got 33");
  CHECK_THROWS_WITH(resolve_system(load_scenario(repo("scenarios/paper-llama2-7b-xavier-a6000.toml"),
                                                 parse_overrides({"edge.profile=a6000"}))),
                    Catch::Matchers::Contains("edge.profile: expected an edge device profile, got \"a6000\" (a cloud profile)"));
}

TEST_CASE("cost model: the resolved hash follows every input", "[cost]") {
  const std::string path = repo("scenarios/paper-llama2-7b-xavier-a6000.toml");
  std::string h1 = resolve_system(load_scenario(path)).hash();
  CHECK(h1.size() == 16);
  CHECK(resolve_system(load_scenario(path)).hash() == h1);
  CHECK(resolve_system(load_scenario(path, parse_overrides({"edge.count=2"}))).hash() != h1);
  CHECK(resolve_system(load_scenario(path, parse_overrides({"description=\"other words\""}))).hash() == h1);
}

TEST_CASE("cost model: every shipped scenario resolves and estimates", "[cost]") {
  for (const char* s : {"paper-llama2-7b-xavier-a6000", "orin-nano-llama3-8b-5g", "pi5-tinyllama-wifi6-cells",
                        "stories260k-local"}) {
    INFO(s);
    System sys = resolve_system(load_scenario(repo(std::string("scenarios/") + s + ".toml")));
    CostModel cm(sys);
    for (size_t g = 0; g < sys.fleet.size(); ++g) {
      Estimate e = cm.estimate(g, 32, 8);
      CHECK(e.ttft > 0);
      CHECK(e.tpot > 0);
      CHECK_FALSE(e.edge_memory.oom());
    }
  }
}
