// Measured executor tables: reading them (errors name file and key), interpolating them, and the cost model
// costing a host-cpu profile from them instead of the roofline — checked against hand-computed values.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "core/formats/frame.hpp"
#include "core/scenario.hpp"
#include "executor/calibrate.hpp"
#include "hwprofiles/cost_model.hpp"
#include "hwprofiles/measured_tables.hpp"
#include "hwprofiles/system.hpp"
#include "sim/simulation.hpp"
#include "core/formats/wire_block.hpp"
#include "../temp_file.hpp"

using namespace splitsim;

namespace {

const char* kTables = R"(
[executor]
version = 2
host = "testhost"
date = "2026-01-01T00:00:00Z"
command = "hand-written for tests"
cores = 2

[[executor.layers]]
model = "stories260k"
dim = 64
n_layers = 5
bits = 32
group_size = 128
source = "measured: testhost, 2026-01-01, hand-written"
prefill_tokens = [1, 16]
prefill_s = [1e-5, 1e-4]
decode_batch = [1, 2, 4]
decode_s = [1e-5, 1.5e-5, 2.5e-5]
decode_s_per_context = 1e-7
head_batch = [1, 4]
head_s = [2e-5, 5e-5]

[[executor.codecs]]
codec = "fp32"
dim = 64
source = "measured: testhost, 2026-01-01, hand-written"
tokens = [1, 16]
encode_s = [1e-7, 1e-6]
decode_s = [2e-7, 2e-6]

[executor.memory]
source = "measured: testhost, 2026-01-01, hand-written"
read_single_Bps = 2e10
read_all_Bps = 3e10
threads = 2

[executor.transport]
source = "measured: testhost, 2026-01-01, hand-written"
clients = [1, 2]
round_trip_s = [5e-5, 8e-5]
per_byte_s = 1e-9
)";

std::string write_temp(const std::string& name, const std::string& text) {
  return test::write_temp_file("splitsim-test-validate", name, text);
}

Scenario scenario(int64_t clients, const std::string& strategy) {
  auto src = parse_toml_text(fmt::format(R"(
name = "t"
model = "stories260k"
[edge]
profile = "host-cpu-edge"
link = "shaped-fast"
count = {}
[server]
profile = "host-cpu-server"
backbone = "loopback"
[split]
strategy = "{}"
layer = 2
edge_bits = 4
cloud_bits = 8
[codec]
mean_bits = 3.25
outliers_per_token = 1.5
[workload]
prompt_tokens = 16
output_tokens = 8
max_seq_len = 24
)",
                                         clients, strategy),
                             "t.toml");
  return scenario_from_source(src);
}

}  // namespace

TEST_CASE("measured tables: curves interpolate piecewise linearly and extrapolate from the end segments", "[validate]") {
  Curve c{{1, 2, 4}, {10, 20, 20}};
  CHECK(c.at(1) == 10);
  CHECK(c.at(1.5) == 15);
  CHECK(c.at(3) == 20);
  CHECK(c.at(8) == 20);   // flat last segment
  CHECK(c.at(0) == 0);    // extrapolated 10 - 10 = 0
  CHECK(c.at(-5) == 0);   // never negative
  Curve one{{3}, {7}};
  CHECK(one.at(100) == 7);
}

TEST_CASE("measured tables: load, and errors name the file and the key", "[validate]") {
  auto t = load_measured_tables(write_temp("ok.toml", kTables));
  REQUIRE(t->layers.size() == 1);
  CHECK(t->host == "testhost");
  CHECK(t->layer("stories260k", 32) != nullptr);
  CHECK(t->layer("stories260k", 4) == nullptr);
  CHECK(t->codec("fp32", 64) != nullptr);
  CHECK(t->transport.fixed(1) == 2.5e-5);
  CHECK(t->memory.read_all == 3e10);
  CHECK(t->transport.fixed(2) == 4e-5);
  CHECK(t->transport.fixed(4) == 4e-5);  // flat past the last measured client count

  std::string bad = kTables;
  bad.replace(bad.find("decode_s_per_context"), 20, "decode_s_per_kontext");
  const std::string p = write_temp("bad.toml", bad);
  CHECK_THROWS_WITH(load_measured_tables(p), Catch::Matchers::Contains(p) &&
                                                 Catch::Matchers::Contains("executor.layers[0].decode_s_per_context"));
  std::string unordered = kTables;
  unordered.replace(unordered.find("prefill_tokens = [1, 16]"), 24, "prefill_tokens = [16, 1]");
  CHECK_THROWS_WITH(load_measured_tables(write_temp("unordered.toml", unordered)),
                    Catch::Matchers::Contains("prefill_tokens: expected strictly increasing"));
  const std::string kernels_only = write_temp("kernels.toml", "host = \"x\"\n[memory]\ncopy = 1\n");
  CHECK(load_measured_tables(kernels_only, false) == nullptr);
  CHECK_THROWS_AS(load_measured_tables(kernels_only), InputError);
}

TEST_CASE("measured tables: the executor block is replaced in place and the kernels' tables are kept", "[validate]") {
  const std::string path = write_temp("merge.toml", "# kernels\nhost = \"k\"\n[memory]\ncopy_bandwidth = 1\n");
  const std::string block = std::string("# >>> executor calibration (splitsim calibrate-executor; this block is rewritten) >>>\n") +
                            kTables + "# <<< executor calibration <<<\n";
  write_executor_calibration(path, block);
  write_executor_calibration(path, block);  // twice: still one block
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text.find("copy_bandwidth = 1") != std::string::npos);
  CHECK(text.find("[executor]") == text.rfind("[executor]"));
  CHECK(load_measured_tables(path)->host == "testhost");
}

TEST_CASE("cost model: a host-cpu profile with measured tables is costed from them", "[validate]") {
  auto tables = load_measured_tables(write_temp("cm.toml", kTables));
  Scenario sc = scenario(1, "split-fp32");
  System sys = resolve_system(sc);
  sys.fleet[0].device.measured = tables;
  sys.server.measured = tables;
  const CostModel cost(sys);
  // Two edge layers, one sequence at context 20: 2 * (base(1) + 20 * per_context).
  CHECK(cost.edge_step(0, 20) == Approx(2 * (1e-5 + 20 * 1e-7)));
  // Prefill of 16 tokens on the edge; the server's 3 layers + head(1).
  CHECK(cost.edge_prefill(0, 16) == Approx(2 * 1e-4));
  CHECK(cost.server_prefill(16) == Approx(3 * 1e-4 + 2e-5));
  // Server step of 2 sequences with contexts summing to 40: 3 * (base(2) + 40 * per_context) + head(2) = 3 layers.
  CHECK(cost.server_step(2, 40.0) == Approx(3 * (1.5e-5 + 40 * 1e-7) + 3e-5));
  CHECK(cost.edge_encode(0, 16) == Approx(1e-6));
  CHECK(cost.server_decode_codec(1) == Approx(2e-7));
  // Transfers: shaped-fast (100 Mbps, 1 ms) + the measured per-message overhead.
  const double up = cost.uplink_bytes(1);
  CHECK(up == kFrameHeaderBytes + encoded_size_dense(WireCodec::fp32, 1, 64));
  CHECK(cost.transfer_up(0, up) == Approx(1e-3 + up / 12.5e6 + 2.5e-5 + 1e-9 * up));
  CHECK(cost.transfer_down(0, 20) == Approx(1e-3 + 20 / 12.5e6 + 2.5e-5 + 1e-9 * 20));
  {  // Two clients of one local run (on the server's shared cores): the round trip measured with two clients.
    System two = resolve_system(scenario(2, "split-fp32"));
    two.scenario.server.shared_cores = 2;
    two.fleet[0].device.measured = tables;
    two.server.measured = tables;
    CHECK(CostModel(two).transfer_down(0, 20) == Approx(1e-3 + 20 / 12.5e6 + 4e-5 + 1e-9 * 20));
    two.scenario.server.shared_cores = 0;  // separate machines: each device's own message path
    CHECK(CostModel(two).transfer_down(0, 20) == Approx(1e-3 + 20 / 12.5e6 + 2.5e-5 + 1e-9 * 20));
  }

  // A server iteration runs the batch as the executor does: the prefill blocks as one pass over their 32 tokens
  // (the table extrapolated from its last segment), the decode steps at contexts summing to 40, and one head over
  // the 4 columns.
  const std::vector<int64_t> prefills{16, 16};
  const double prefill32 = 1e-4 + 16 * (1e-4 - 1e-5) / 15;
  CHECK(cost.server_iteration(prefills, 2, 40.0) == Approx(3 * prefill32 + 3 * (1.5e-5 + 40 * 1e-7) + 5e-5));
  CHECK(cost.server_iteration(std::vector<int64_t>{16}, 0, 0) == Approx(cost.server_prefill(16)));
  CHECK(cost.server_iteration({}, 2, 40.0) == Approx(cost.server_step(2, 40.0)));
  CHECK(cost.server_iteration({}, 0, 0) == 0);

  // A model or bit-width the tables do not cover falls back to the roofline.
  System q = resolve_system(scenario(1, "opsc")), plain = q;
  q.fleet[0].device.measured = tables;  // 32-bit only; the plan's edge runs at 4 bits
  plain.fleet[0].device.measured = nullptr;
  const CostModel rq(q), rq_plain(plain);
  CHECK(rq.edge_step(0, 20) == rq_plain.edge_step(0, 20));
}

namespace {
// kTables with wake curves: after a 10 ms idle gap the edge's layers take 3x, the server's 2x, an encode 5x, a
// decode 4x; after 0.1 ms or less, 1x.
std::string with_wake() {
  std::string t = kTables;
  t.replace(t.find("head_s = [2e-5, 5e-5]"), 21,
            "head_s = [2e-5, 5e-5]\nwake_edge_gap_s = [1e-4, 1e-2]\nwake_edge = [1, 3]\nwake_server_gap_s = [1e-4, "
            "1e-2]\nwake_server = [1, 2]");
  t.replace(t.find("decode_s = [2e-7, 2e-6]"), 23,
            "decode_s = [2e-7, 2e-6]\nwake_encode_gap_s = [1e-4, 1e-2]\nwake_encode = [1, 5]\nwake_decode_gap_s = "
            "[1e-4, 1e-2]\nwake_decode = [1, 4]");
  t.replace(t.find("per_byte_s = 1e-9"), 17, "per_byte_s = 1e-9\nserver_handoff_s = 3e-5");
  return t;
}
}  // namespace

TEST_CASE("measured tables: wake curves make a step after an idle gap dearer, in the simulator as in the estimate",
          "[validate][wake]") {
  auto tables = load_measured_tables(write_temp("wake.toml", with_wake()));
  System sys = resolve_system(scenario(1, "split-fp32"));
  sys.fleet[0].device.measured = tables;
  sys.server.measured = tables;
  const CostModel cost(sys);
  CHECK(cost.wake(Wake::edge, 1e-4) == 1);
  CHECK(cost.wake(Wake::edge, 0.5 * (1e-4 + 1e-2)) == Approx(2));
  CHECK(cost.wake(Wake::edge, 1.0) == 3);  // flat past the longest measured gap
  CHECK(cost.wake(Wake::edge, 0) == 1);    // and below the shortest
  CHECK(cost.wake(Wake::decode, 1e-2) == 4);
  // The penalty: (factor - 1) x that side's one-token step, whatever the step's own tokens.
  const CostModel::WakePenalty d = cost.device_wake(0, 1e-2, 2, 20);
  CHECK(d.compute == Approx(2 * cost.edge_step_at(0, 2, 20)));
  CHECK(d.codec == Approx(4 * cost.edge_encode(0, 1)));
  const CostModel::WakePenalty sv = cost.server_wake(1e-2, 2, 20);
  CHECK(sv.compute == Approx(1 * cost.server_step_at(2, 1, 20)));
  CHECK(sv.codec == Approx(3 * cost.server_decode_codec(1)));
  // Without wake curves nothing changes.
  System plain = sys;
  plain.fleet[0].device.measured = plain.server.measured = load_measured_tables(write_temp("nowake.toml", kTables));
  CHECK(CostModel(plain).device_wake(0, 1.0, 2, 20).compute == 0);
  CHECK(CostModel(plain).wake(Wake::server, 1.0) == 1);

  // One device alone: every step follows a round trip of about 2 ms (shaped-fast), so the simulator charges each
  // step's wake-up from the gap it really idled, in closed form and in full SimGrid mode, and the estimate from its
  // own stage times: all three agree.
  const Estimate e = cost.estimate(0, 16, 8);
  const Estimate e_plain = CostModel(plain).estimate(0, 16, 8);
  CHECK(e.tpot > e_plain.tpot);
  CHECK(e.prefill.edge_compute == Approx(e_plain.prefill.edge_compute + 2 * cost.edge_step_at(0, 2, 16)));
  for (bool full : {false, true}) {
    INFO((full ? "full" : "fast"));
    SimOptions o;
    o.full = full;
    const SimResult r = simulate_isolated(sys, o);
    REQUIRE(r.requests.size() == 1);
    const RequestRecord& q = r.requests[0];
    CHECK(q.ttft == Approx(e.ttft).epsilon(1e-9));
    CHECK(q.e2e == Approx(e.e2e).epsilon(1e-9));
    CHECK(q.edge_compute == Approx(e.prefill.edge_compute + 7 * e.decode_mean.edge_compute).epsilon(1e-9));
    CHECK(q.server_decode == Approx(e.prefill.server_decode + 7 * e.decode_mean.server_decode).epsilon(1e-9));
    // The server's scheduler wakes for each of the 8 blocks (it sleeps between them): queueing, as in the executor.
    CHECK(q.server_queue == Approx(8 * 3e-5).epsilon(1e-9));
  }
  CHECK(cost.server_handoff() == 3e-5);
  CHECK(e.prefill.server_queue == 3e-5);
  // Bad curves are refused naming the key: a factor below 1, a gap list without its factors.
  std::string below = with_wake();
  below.replace(below.find("wake_server = [1, 2]"), 20, "wake_server = [0.5, 2]");
  CHECK_THROWS_WITH(load_measured_tables(write_temp("below.toml", below)),
                    Catch::Matchers::Contains("executor.layers[0].wake_server: expected factors of at least 1"));
  std::string orphan = with_wake();
  orphan.replace(orphan.find("wake_encode = [1, 5]\n"), 21, "");
  CHECK_THROWS_WITH(load_measured_tables(write_temp("orphan.toml", orphan)),
                    Catch::Matchers::Contains("wake_encode_gap_s"));
}

TEST_CASE("measured tables: files of an older format are refused with what to do", "[validate]") {
  for (const char* version : {"", "version = 1\n"}) {
    std::string old = kTables;
    old.replace(old.find("version = 2\n"), 12, version);
    const std::string p = write_temp("old.toml", old);
    CHECK_THROWS_WITH(load_measured_tables(p), Catch::Matchers::Contains(p) &&
                                                   Catch::Matchers::Contains("executor.version: expected 2") &&
                                                   Catch::Matchers::Contains("rerun `splitsim calibrate-executor`"));
  }
}

TEST_CASE("cost model: TS + TAB-Q bytes are the expectation over whole bit-widths, so run totals are exact", "[validate]") {
  System sys = resolve_system(scenario(1, "opsc"));
  const CostModel cost(sys);
  // mean 3.25 bits, 1.5 outliers per token at d = 64: per token 7 + 64 * 3.25 / 8 + 4 * 1.5 = 39 B.
  CHECK(cost.uplink_bytes(1) == Approx(kFrameHeaderBytes + kWireHeaderBytes + 39.0));
  CHECK(cost.uplink_bytes(10) == Approx(kFrameHeaderBytes + kWireHeaderBytes + 390.0));
  // Integral mean bits: exactly the format's own expected size.
  sys.codec_stats.mean_bits = 4;
  const CostModel c4(sys);
  CHECK(c4.uplink_bytes(3) == kFrameHeaderBytes + expected_encoded_size(WireCodec::ts_tabq, 3, 64, 4, 1.5));
}
