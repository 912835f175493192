// Oracle tests: the simulator against the cost model's closed form (one device, no contention), and the fast
// mode against the full-SimGrid reference mode (identical records on small contended fleets).
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "core/error.hpp"
#include "hwprofiles/cost_model.hpp"
#include "sim_test_util.hpp"

using namespace splitsim;
using namespace splitsim::test;

namespace {

void check_against_estimate(const std::string& strategy, bool full) {
  System sys = system_from(one_device(strategy));
  CostModel cost(sys);
  Estimate e = cost.estimate(0, 100, 40);
  SimResult r = run_sim(sys, full);
  INFO(strategy << (full ? " full" : " fast") << " " << r.info.dump());
  REQUIRE(r.requests.size() == 1);
  const RequestRecord& q = r.requests[0];
  REQUIRE_FALSE(q.oom);
  CHECK(r.info["sim_mode"] == (full ? "full" : "fast"));
  CHECK(rel(q.ttft, e.ttft) < 1e-9);
  CHECK(rel(q.tpot, e.tpot) < 1e-9);
  CHECK(rel(q.e2e, e.e2e) < 1e-9);
  CHECK(rel(q.tbt_max, e.tbt_max) < 1e-9);
  CHECK(q.tbt_max > 0);
  CHECK(rel(q.bytes_up, e.bytes_up_total) < 1e-12);
  CHECK(rel(q.bytes_down, e.bytes_down_total) < 1e-12);
  if (sys.plan.server_has_head) CHECK(rel(r.totals.server_busy / 40.0, e.server_busy_per_token) < 1e-9);
}

}  // namespace

TEST_CASE("one device alone reproduces the closed form (fast mode)", "[sim][oracle]") {
  for (const char* s : {"opsc", "split-fp16", "split-uniform", "cloud-only", "edge-only"}) check_against_estimate(s, false);
}

TEST_CASE("one device alone reproduces the closed form (full SimGrid mode)", "[sim][oracle]") {
  // Every transfer a SimGrid comm over access link + backbone, every computation an exec: the network model's
  // corrections are neutralized, so SimGrid itself must give latency + bytes / bandwidth.
  for (const char* s : {"opsc", "split-fp16", "cloud-only", "edge-only"}) check_against_estimate(s, true);
}

namespace {

SimResult check_modes_agree(const System& sys) {
  SimResult fast = run_sim(sys, false), full = run_sim(sys, true);
  INFO(fast.info.dump());
  CHECK(fast.info["sim_mode"] == "fast");
  REQUIRE(fast.requests.size() == full.requests.size());
  for (size_t i = 0; i < fast.requests.size(); ++i) {
    const auto &a = fast.requests[i], &b = full.requests[i];
    INFO("request " << i);
    CHECK(a.arrival == Approx(b.arrival).epsilon(1e-12));
    CHECK(rel(a.ttft, b.ttft) < 1e-9);
    CHECK(rel(a.e2e, b.e2e) < 1e-9);
    CHECK(rel(a.tbt_max, b.tbt_max) < 1e-9);
    CHECK(rel(a.uplink, b.uplink) < 1e-9);
    CHECK(rel(a.server_queue + 1, b.server_queue + 1) < 1e-9);
  }
  CHECK(rel(fast.totals.server_busy, full.totals.server_busy) < 1e-9);
  CHECK(fast.info["server_iterations"] == full.info["server_iterations"]);
  return fast;
}

SimResult check_modes_agree(const std::string& text) { return check_modes_agree(system_from(text)); }

std::string fleet(const std::string& strategy, const std::string& groups, const std::string& backbone,
                  int64_t max_batch) {
  return fmt::format(R"(name = "t-fleet"
seed = 5
model = "tinyllama-1.1b"
{}
[server]
profile = "a6000"
backbone = "{}"
max_batch = {}
[split]
strategy = "{}"
layer = 4
edge_bits = 4
cloud_bits = 8
group_size = 64
[workload]
arrival = "closed"
think_time = "0.5s"
requests_per_device = 2
prompt_tokens = {{ dist = "uniform", min = 16, max = 96 }}
output_tokens = {{ dist = "uniform", min = 4, max = 24 }}
max_seq_len = 256
)",
                     groups, backbone, max_batch, strategy);
}

const char* kCellsAndWired = R"([[edge.groups]]
name = "pi"
profile = "raspberry-pi-5"
link = "wifi6"
count = 9
cell_size = 4
[[edge.groups]]
name = "orin"
profile = "jetson-orin-nano"
link = "ethernet-1g"
count = 3)";

}  // namespace

TEST_CASE("fast mode equals full SimGrid on a heterogeneous fleet with shared cells", "[sim][oracle]") {
  check_modes_agree(fleet("opsc", kCellsAndWired, "ethernet-10g", 4));
  check_modes_agree(fleet("split-fp16", kCellsAndWired, "ethernet-10g", 8));
  check_modes_agree(fleet("cloud-only", kCellsAndWired, "ethernet-10g", 4));
  // Poisson arrivals: a request that arrives while its device is busy starts when the device is free.
  std::string poisson = fleet("opsc", kCellsAndWired, "ethernet-10g", 4);
  poisson.replace(poisson.find("think_time = \"0.5s\""), 19, "rate = \"2/s\"");
  poisson.replace(poisson.find("arrival = \"closed\""), 18, "arrival = \"poisson\"");
  poisson.replace(poisson.find("requests_per_device = 2"), 23, "requests_per_device = 4");
  check_modes_agree(poisson);
}

TEST_CASE("fast mode equals full SimGrid with a measured message overhead on shared cells", "[sim][oracle]") {
  // Every message of a calibrated host pays its measured overhead (framing, socket calls, hand-offs) in every
  // mode, the StarNetwork path and the streamed tokens of cloud-only included (leaving it out there puts fast
  // mode's TTFT 4% short of the reference's).
  for (const char* strategy : {"opsc", "cloud-only"}) {
    System sys = system_from(fleet(strategy, kCellsAndWired, "ethernet-10g", 4));
    for (auto& g : sys.fleet) g.device.measured = measured_tables(1e10, 2e10, 300e-6, 2e-9);
    REQUIRE(CostModel(sys).transport_overhead(0, 1000) > 300e-6);
    check_modes_agree(sys);
  }
}

TEST_CASE("fast mode equals full SimGrid when the backbone can be the bottleneck", "[sim][oracle]") {
  // 8 private Wi-Fi 6 links (8 x 350 Mbps down) and a cell behind a 1 GbE backbone; fast mode replaces the
  // private links by one FATPIPE link per group. Different route latencies weigh the two groups differently
  // on the backbone.
  const char* groups = R"([[edge.groups]]
name = "wifi"
profile = "raspberry-pi-5"
link = "wifi6"
count = 8
[[edge.groups]]
name = "cell"
profile = "raspberry-pi-5"
link = "wifi5"
count = 4
cell_size = 4)";
  // Statically the backbone may bind, so both modes model it: full mode as a SimGrid link, fast mode as the
  // StarNetwork's shared capacity. Staggered arrivals rarely load it; a herd of 200-token prompts at t = 0
  // saturates it (12 flows x >= 150 Mbps on 941 Mbps).
  SimResult staggered = check_modes_agree(fleet("split-fp16", groups, "ethernet-1g", 6));
  CHECK(staggered.info["backbone_simulated"] == true);
  std::string herd = fleet("split-fp16", groups, "ethernet-1g", 6);
  herd.replace(herd.find("think_time = \"0.5s\""), 19, "think_time = \"0s\"");
  herd.replace(herd.find("min = 16, max = 96"), 18, "min = 200, max = 200");
  SimResult bound = check_modes_agree(herd);
  CHECK(bound.info["backbone_simulated"] == true);
}

TEST_CASE("fast mode equals full SimGrid when devices of different gateways finish together", "[sim][oracle]") {
  // A herd on three private Wi-Fi 6 groups (one gateway each in fast mode, all of one route latency) behind a
  // binding 5G backbone: devices of different groups run in lockstep, so their uplinks end at one instant and
  // a full batch (6) takes them in device order. The StarNetwork must complete such flows at one instant (its
  // backbone keys grouped with the clock's tolerance, not the level sum's): flows a few ulps apart reach the
  // server in the other order and 107 of 112 requests differ, by up to 3%.
  const char* groups = R"([[edge.groups]]
name = "g0"
profile = "raspberry-pi-5"
link = "wifi6"
count = 16
[[edge.groups]]
name = "g1"
profile = "raspberry-pi-5"
link = "wifi6"
count = 16
[[edge.groups]]
name = "g2"
profile = "raspberry-pi-5"
link = "wifi6"
count = 24)";
  std::string herd = fleet("split-fp16", groups, "5g", 6);
  herd.replace(herd.find("think_time = \"0.5s\""), 19, "think_time = \"0s\"");
  herd.replace(herd.find("min = 16, max = 96"), 18, "min = 200, max = 200");
  SimResult r = check_modes_agree(herd);
  CHECK(r.info["backbone_simulated"] == true);
}

// ---------------------------------------------------------------------------------------------- split schedules

namespace {

// one_device() with split.schedule in place of split.layer.
std::string with_schedule(std::string text, const std::string& schedule) {
  text.replace(text.find("layer = 16"), 10, "schedule = \"" + schedule + "\"");
  return text;
}

}  // namespace

TEST_CASE("a moving split schedule: one device alone reproduces the closed form, moved bytes included",
          "[sim][oracle][schedule]") {
  // Prompt 100, 40 tokens: the prompt's last position (99) is past band 50, so it prefills at the second band's
  // split; band 110 moves at decode step 11, band 125 at 26. (fp16 weights of 20 layers would not fit the Xavier
  // NX: split-fp16 moves fewer.)
  struct Case {
    const char* strategy;
    const char* schedule;
    int64_t first, per_move;
  };
  for (bool full : {false, true})
    for (const Case& c : {Case{"opsc", "0:20,50:16,110:12,125:8", 20, 4}, Case{"split-fp16", "0:8,50:6,110:4,125:2", 8, 2}}) {
      INFO(c.strategy << (full ? " full" : " fast"));
      System sys = system_from(with_schedule(one_device(c.strategy), c.schedule));
      REQUIRE(sys.plan.schedule);
      CHECK(sys.plan.split_layer == c.first);
      CostModel cost(sys);
      const Estimate e = cost.estimate(0, 100, 40);
      const double n = static_cast<double>(c.per_move);
      const double moved = n * (cost.kv_move_bytes(110) + cost.kv_move_bytes(125));
      CHECK(cost.moved_bytes(100, 40) == Approx(moved).epsilon(1e-12));
      SimResult r = run_sim(sys, full);
      REQUIRE(r.requests.size() == 1);
      const RequestRecord& q = r.requests[0];
      REQUIRE_FALSE(q.oom);
      CHECK(rel(q.ttft, e.ttft) < 1e-9);
      CHECK(rel(q.tpot, e.tpot) < 1e-9);
      CHECK(rel(q.e2e, e.e2e) < 1e-9);
      CHECK(rel(q.tbt_max, e.tbt_max) < 1e-9);
      CHECK(q.tbt_max > 1.5 * q.tpot);  // the step that carries a move is the longest pause
      CHECK(rel(q.bytes_up, e.bytes_up_total) < 1e-12);
      CHECK(rel(q.bytes_moved, moved) < 1e-12);
      CHECK(rel(r.totals.server_busy / 40.0, e.server_busy_per_token) < 1e-9);
    }
  // split-fp16 moves fp16 keys and values: 2 B per element, the frame, move and block headers per layer.
  System fp16 = system_from(with_schedule(one_device("split-fp16"), "0:20,50:16"));
  const int64_t kvd = fp16.model.kv_dim();
  CHECK(CostModel(fp16).kv_move_bytes(100) == 16 + 16 + 16 + 2.0 * 100 * kvd * 2);
}

TEST_CASE("a moving split schedule: fast mode equals full SimGrid on a contended fleet", "[sim][oracle][schedule]") {
  std::string text = fleet("opsc", kCellsAndWired, "ethernet-10g", 4);
  text.replace(text.find("layer = 4"), 9, "schedule = \"0:10,40:6,80:2\"");
  const SimResult r = check_modes_agree(text);
  double moved = 0;
  for (const auto& q : r.requests) moved += q.bytes_moved;
  CHECK(moved > 0);
}

TEST_CASE("a moving split schedule: each step's cost follows its split, and a one-band schedule is the static split",
          "[sim][schedule]") {
  const System fixed = system_from(one_device("opsc"));
  const System one = system_from(with_schedule(one_device("opsc"), "0:16"));
  const System moving = system_from(with_schedule(one_device("opsc"), "0:20,50:16,110:12,125:8"));
  const CostModel cf(fixed), c1(one), cm(moving);
  CHECK(c1.estimate(0, 100, 40).to_json() == cf.estimate(0, 100, 40).to_json());
  CHECK(c1.moved_bytes(100, 40) == 0);
  // The edge at 110 cached tokens runs 12 layers, as a static split at 12 would.
  const System at12 = system_from(one_device("opsc").replace(one_device("opsc").find("layer = 16"), 10, "layer = 12"));
  CHECK(cm.edge_step(0, 111) == CostModel(at12).edge_step(0, 111));
  CHECK(cm.device_step(0, 100, 11).moved_bytes == 4 * cm.kv_move_bytes(110));
  CHECK(cm.device_step(0, 100, 12).moved_bytes == 0);
  CHECK(cm.device_step(0, 100, 12).up_bytes == cm.uplink_bytes(1));
  // A server iteration over steps at splits 12 and 16: layers [12,16) run for the first band only.
  const std::vector<int64_t> none;
  const DecodeBand b12{12, 2, 230}, b16{16, 3, 300};
  const DecodeBand both[] = {b16, b12};
  const double t = cm.server_iteration(none, both);
  const DecodeBand all12[] = {{12, 5, 530}};
  const DecodeBand all16[] = {{16, 5, 530}};
  CHECK(t < cm.server_iteration(none, all12));
  CHECK(t > cm.server_iteration(none, all16));
  CHECK(cm.server_iteration(none, all16) == Approx(cf.server_iteration(none, 5, 530)).epsilon(1e-12));
  // The server holds (and reserves KV for) every layer the schedule reaches.
  CHECK(cm.server_weight_bytes() > cf.server_weight_bytes());
  CHECK(cm.kv_reservation(100, 40) == Approx(cf.kv_reservation(100, 40) * 24.0 / 16.0).epsilon(1e-12));
  // The edge's peak: the largest band end, with the layers of that band and their caches full to its end.
  const double kvb = moving.model.kv_bytes_per_token_layer(16), lw = moving.model.layer_weight_bytes(4, 128);
  double peak = 0;
  for (auto [split, end] : {std::pair{20, 50}, {16, 110}, {12, 125}, {8, 512}})
    peak = std::max(peak, split * lw + split * end * kvb);
  const MemoryBreakdown em = cm.edge_memory(0), ef = cf.edge_memory(0);
  CHECK(em.weights + em.kv_cache - moving.model.embedding_bytes(4, 128) == Approx(peak).epsilon(1e-12));
  CHECK(ef.kv_cache == 16.0 * 512 * kvb);  // static: one band, full at max_seq_len
  // The prompt's 100 positions run at the split of position 99 (16), on the edge and on the server.
  CHECK(cm.edge_prefill(0, 100) == CostModel(fixed).edge_prefill(0, 100));
  CHECK(cm.server_prefill(100) == CostModel(fixed).server_prefill(100));
  CHECK(cm.edge_prefill(0, 40) > cf.edge_prefill(0, 40));  // 20 layers below position 50
}

namespace {

// `text` with its split layer (`layer_line`) replaced by a schedule, reacting at `rate` over one upload if given.
std::string scheduled(std::string text, const std::string& layer_line, const std::string& schedule,
                      const std::string& rate = "") {
  std::string keys = "schedule = \"" + schedule + "\"";
  if (!rate.empty()) keys += "\nreact_rate = \"" + rate + "\"\nreact_window = 1";
  text.replace(text.find(layer_line), layer_line.size(), keys);
  return text;
}

// fleet()'s workload with prompts of 16-40 tokens and 4-60 generated.
std::string short_prompts(std::string text) {
  text.replace(text.find("max = 96"), 8, "max = 40");
  text.replace(text.find("max = 24"), 8, "max = 60");
  return text;
}

void check_same_requests(const SimResult& a, const SimResult& b) {
  REQUIRE(a.requests.size() == b.requests.size());
  for (size_t i = 0; i < a.requests.size(); ++i) {
    const auto &x = a.requests[i], &y = b.requests[i];
    INFO("request " << i);
    CHECK(rel(x.ttft, y.ttft) < 1e-9);
    CHECK(rel(x.e2e, y.e2e) < 1e-9);
    CHECK(rel(x.tbt_max, y.tbt_max) < 1e-9);
    CHECK(rel(x.edge_compute, y.edge_compute) < 1e-9);
    CHECK(rel(x.server_decode, y.server_decode) < 1e-9);
    CHECK(x.bytes_up == y.bytes_up);
    CHECK(x.bytes_moved == y.bytes_moved);
  }
  CHECK(rel(a.totals.server_busy, b.totals.server_busy) < 1e-9);
}

}  // namespace

TEST_CASE("a reacting split schedule moves at its earliest contexts on a good link and at its deadlines on a poor one, "
          "in every mode", "[sim][oracle][schedule]") {
  // Prompts stay below every window (a prompt starts at its deadline band), so a link that is always good makes the
  // schedule the static one at its earliest contexts, and one that never is makes it the static one at its deadlines.
  struct Case {
    std::string text, layer_line, reacting, early, late;
  };
  const Case cases[] = {
      {one_device("opsc"), "layer = 16", "0:20,105-110:16,115-125:8", "0:20,105:16,115:8", "0:20,110:16,125:8"},
      {short_prompts(fleet("opsc", kCellsAndWired, "ethernet-10g", 4)), "layer = 4", "0:10,45-60:6,70-90:2",
       "0:10,45:6,70:2", "0:10,60:6,90:2"},
  };
  for (const Case& c : cases)
    for (bool full : {false, true}) {
      INFO(c.reacting << (full ? " full" : " fast"));
      const System good = system_from(scheduled(c.text, c.layer_line, c.reacting, "1kbps"));
      const System poor = system_from(scheduled(c.text, c.layer_line, c.reacting, "1000Gbps"));
      REQUIRE(good.plan.reaction);
      const SimResult early = run_sim(system_from(scheduled(c.text, c.layer_line, c.early)), full);
      const SimResult late = run_sim(system_from(scheduled(c.text, c.layer_line, c.late)), full);
      check_same_requests(run_sim(good, full), early);
      check_same_requests(run_sim(poor, full), late);
      double moved_early = 0, moved_late = 0;
      for (const auto& q : early.requests) moved_early += q.bytes_moved;
      for (const auto& q : late.requests) moved_late += q.bytes_moved;
      CHECK(moved_early > 0);
      CHECK(moved_late > 0);
      CHECK(moved_early != moved_late);
    }
}

TEST_CASE("a split schedule in a scenario is checked like any key", "[sim][schedule]") {
  auto err = [](const std::string& text) {
    try {
      system_from(text, "s.toml");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(err(with_schedule(one_device("opsc"), "0:16 40:8")).find("s.toml: split.schedule: expected CONTEXT:SPLIT") == 0);
  CHECK(err(with_schedule(one_device("opsc"), "0:16,40:40")).find("s.toml: split.schedule: band 2: expected a split") ==
        0);
  CHECK(err(with_schedule(one_device("cloud-only"), "0:16,40:8")).find("split.schedule") != std::string::npos);
  CHECK(err(with_schedule(one_device("cloud-only"), "0:16,40:8")).find("a split strategy") != std::string::npos);
  // A window needs a rate to react to, a rate needs a window, and the window of uploads is bounded.
  CHECK(err(with_schedule(one_device("opsc"), "0:16,40-80:8")) ==
        "s.toml: split.react_rate: expected the uplink rate at which the schedule's windows move early, like \"4Mbps\", "
        "got none");
  auto with_key = [](std::string text, const std::string& line) {  // a line into [split]
    return text.replace(text.find("strategy = "), 0, line + "\n");
  };
  CHECK(err(with_key(with_schedule(one_device("opsc"), "0:16,80:8"), "react_rate = \"4Mbps\""))
            .find("split.react_rate: expected a split.schedule with a window to react with") != std::string::npos);
  CHECK(err(with_key(one_device("opsc"), "react_rate = \"4Mbps\"")) ==
        "s.toml: split.react_rate: expected a split.schedule with a window to react with (EARLIEST-CONTEXT:SPLIT, like "
        "\"0:24,1024-2048:20\"), got no schedule");
  CHECK(err(with_key(one_device("opsc"), "react_rate = \"fast\"")).find("s.toml: split.react_rate: expected") == 0);
  CHECK(err(with_key(one_device("opsc"), "react_window = 17")) ==
        "s.toml: split.react_window: expected an integer in [1, 16], got 17");
  CHECK(err(with_key(one_device("opsc"), "react_window = 0")).find("split.react_window") != std::string::npos);
}
