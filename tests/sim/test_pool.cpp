// A pool of servers: a router gives each request a server; the pool against single servers, and the routers
// against each other.
#include <catch2/catch.hpp>

#include "hwprofiles/cost_model.hpp"
#include "sim/router.hpp"
#include "sim_test_util.hpp"

using namespace splitsim;
using namespace splitsim::test;

namespace {

// Llama-2-7B split after 4 layers: AGX Orin devices on Wi-Fi 6, the other 28 layers on L4 servers (max batch 4),
// Poisson arrivals with heavy-tailed output lengths.
std::string pool(int64_t devices, int64_t servers, const std::string& router, const std::string& rate, int64_t seed) {
  return fmt::format(R"(name = "t-pool"
seed = {}
model = "llama2-7b"
[edge]
profile = "jetson-agx-orin"
link = "wifi6"
count = {}
[server]
backbone = "ethernet-10g"
router = "{}"
[[server.groups]]
name = "l4"
profile = "l4"
count = {}
max_batch = 4
[split]
strategy = "opsc"
layer = 4
edge_bits = 4
cloud_bits = 4
[workload]
arrival = "poisson"
rate = "{}"
requests_per_device = 20
prompt_tokens = {{ dist = "uniform", min = 16, max = 256 }}
output_tokens = {{ dist = "lognormal", mu = 3.5, sigma = 1.4, min = 4, max = 900 }}
max_seq_len = 2048
)",
                     seed, devices, router, servers, rate);
}

// `text` with one more [[server.groups]] table: a TOML array of tables continues where it was opened, so the new
// group goes up beside the first, before [split].
std::string with_group(const std::string& text, const std::string& group) {
  const auto at = text.find("[split]");
  return text.substr(0, at) + "[[server.groups]]\n" + group + "\n" + text.substr(at);
}

nlohmann::json summary(const std::string& text) { return run_sim(system_from(text)).summary(); }

}  // namespace

TEST_CASE("pool: four round-robin servers of 32 devices match four servers of 8 devices each", "[sim][pool]") {
  const nlohmann::json p = summary(pool(32, 4, "round-robin", "0.02/s", 3));
  REQUIRE(p["servers"].size() == 4);
  int64_t routed = 0;
  for (const auto& s : p["servers"]) routed += s["requests"].get<int64_t>();
  CHECK(routed == 640);
  double tpot = 0, e2e = 0;
  for (int64_t seed : {3, 4, 5, 6}) {
    const nlohmann::json s = summary(pool(8, 1, "round-robin", "0.02/s", seed));
    tpot += s["tpot_s"]["mean"].get<double>() / 4, e2e += s["e2e_s"]["mean"].get<double>() / 4;
  }
  INFO("pool tpot " << p["tpot_s"]["mean"] << " e2e " << p["e2e_s"]["mean"] << "; four single servers tpot " << tpot
                    << " e2e " << e2e);
  // Measured: TPOT -2.9%, e2e -8.3%. Tolerance: TPOT 5%, e2e 12%: the pool shares bursts over four servers where
  // a fixed quarter of the fleet would queue behind one, so it may only be faster; the rest is the spread of four
  // seeds' Poisson arrivals. TTFT is left out: its mean is the tail of each device's own queue.
  CHECK(std::abs(p["tpot_s"]["mean"].get<double>() / tpot - 1) < 0.05);
  CHECK(p["e2e_s"]["mean"].get<double>() / e2e - 1 < 0.05);
  CHECK(p["e2e_s"]["mean"].get<double>() / e2e - 1 > -0.12);
}

TEST_CASE("pool: least-outstanding beats round-robin on p99 TTFT under heavy-tailed request sizes", "[sim][pool]") {
  const nlohmann::json rr = summary(pool(32, 4, "round-robin", "0.04/s", 3));
  const nlohmann::json lo = summary(pool(32, 4, "least-outstanding", "0.04/s", 3));
  INFO("p99 TTFT round-robin " << rr["ttft_s"]["p99"] << " least-outstanding " << lo["ttft_s"]["p99"]);
  // Measured: 8.47 s and 7.07 s (-16.5%); round-robin gives every server the same number of requests whatever
  // their lengths, so a server that drew long outputs queues while another idles.
  CHECK(lo["ttft_s"]["p99"].get<double>() < 0.95 * rr["ttft_s"]["p99"].get<double>());
  CHECK(lo["tpot_s"]["mean"].get<double>() <= rr["tpot_s"]["mean"].get<double>());
}

TEST_CASE("pool: kv-aware routing gives a server whose KV memory is committed no new sequence", "[sim][pool]") {
  Router r("kv-aware", {2.0, 10.0});
  // Server 1 has the most room until its free memory falls to server 0's.
  for (int i = 0; i < 8; ++i) CHECK(r.route(i, -1, 10, 1.0) == 1);
  CHECK(r.kv_committed(1) == 8.0);
  // Both have 2 free: they alternate as room allows, and a server with none left gets nothing while another has room.
  r.route(8, -1, 10, 1.0), r.route(9, -1, 10, 1.0);
  CHECK(r.kv_committed(0) == 1.0);
  CHECK(r.kv_committed(1) == 9.0);
  r.route(10, -1, 10, 1.0), r.route(11, -1, 10, 1.0);
  CHECK(r.kv_committed(0) == 2.0);
  CHECK(r.kv_committed(1) == 10.0);
  r.released(1, 1.0);  // server 1 finishes a request: the next one goes there, not to the full server 0
  CHECK(r.route(12, -1, 10, 1.0) == 1);
  // round-robin and cell-affinity.
  Router rr("round-robin", {1, 1, 1});
  CHECK(rr.route(0, -1, 1, 0) == 0);
  CHECK(rr.route(0, -1, 1, 0) == 1);
  CHECK(rr.route(0, -1, 1, 0) == 2);
  Router ca("cell-affinity", {1, 1, 1});
  CHECK(ca.route(7, 4, 1, 0) == 1);   // cell 4
  CHECK(ca.route(8, 4, 1, 0) == 1);   // the same cell, the same server
  CHECK(ca.route(5, -1, 1, 0) == 2);  // a private link: by device
}

TEST_CASE("pool: a heterogeneous pool reports every server, and runs alike in fast and full mode", "[sim][pool]") {
  const std::string text = with_group(pool(16, 2, "least-outstanding", "0.02/s", 3),
                                      "name = \"big\"\nprofile = \"a6000\"\ncount = 1\nmax_batch = 16");
  const System sys = system_from(text);
  REQUIRE(sys.server_count() == 3);
  const SimResult r = run_sim(sys);
  REQUIRE(r.info["servers"].size() == 3);
  CHECK(r.info["servers"][2]["profile"] == "a6000");
  int64_t routed = 0;
  for (const auto& s : r.info["servers"]) routed += s["requests"].get<int64_t>();
  CHECK(routed == static_cast<int64_t>(r.requests.size()));
  // The pool's price: two L4s and one A6000 at their profiles' usd_per_hour, over the span per million tokens.
  const nlohmann::json sum = r.summary();
  const double price = 2 * 0.468 + 0.864;
  CHECK(sum["server_usd_per_hour"].get<double>() == Approx(price));
  CHECK(sum["usd_per_million_tokens"].get<double>() ==
        Approx(price * sum["span_s"].get<double>() / 3600 / sum["generated_tokens"].get<double>() * 1e6));
  const SimResult full = run_sim(sys, true);
  REQUIRE(full.requests.size() == r.requests.size());
  for (size_t i = 0; i < r.requests.size(); ++i) {
    INFO("request " << i);
    CHECK(rel(r.requests[i].e2e, full.requests[i].e2e) < 1e-9);
    CHECK(rel(r.requests[i].ttft, full.requests[i].ttft) < 1e-9);
  }
}

TEST_CASE("batch window: an iteration waits for the other admitted sequences' steps, up to the window", "[sim][window]") {
  // Two devices on links of different latency: their steps reach the server apart. Without a window every step
  // is an iteration of its own; with a window wider than the gap the server waits and batches them together.
  const std::string groups = R"([[edge.groups]]
name = "near"
profile = "jetson-agx-orin"
link = "ethernet-1g"
count = 1
[[edge.groups]]
name = "far"
profile = "jetson-agx-orin"
link = "lte"
count = 1
)";
  auto text = [&](const std::string& window) {
    std::string t = pool(1, 1, "round-robin", "1/s", 3);
    t.replace(t.find("[edge]"), t.find("[server]") - t.find("[edge]"), groups);
    auto swap = [&](const std::string& from, const std::string& to) { t.replace(t.find(from), from.size(), to); };
    swap("arrival = \"poisson\"\nrate = \"1/s\"", "arrival = \"closed\"");
    swap("requests_per_device = 20", "requests_per_device = 1");
    swap("[server]\n", "[server]\nbatch_window = \"" + window + "\"\n");
    return t;
  };
  const SimResult none = run_sim(system_from(text("0s"))), wide = run_sim(system_from(text("500ms")));
  REQUIRE(none.requests.size() == 2);
  double queue_none = 0, queue_wide = 0;
  for (const auto& r : none.requests) queue_none += r.server_queue;
  for (const auto& r : wide.requests) queue_wide += r.server_queue;
  INFO("iterations " << none.info["server_iterations"] << " / " << wide.info["server_iterations"] << ", queue "
                     << queue_none << " / " << queue_wide);
  CHECK(wide.info["server_iterations"].get<int64_t>() < none.info["server_iterations"].get<int64_t>());
  CHECK(queue_wide > queue_none);
  CHECK(wide.info["server_mean_batch"].get<double>() > 1.2);
}

TEST_CASE("pool: the router's hop to a server group is charged per message, alike in every mode", "[sim][pool][hop]") {
  // One device, one server behind a Gigabit link from the router: every message pays the hop's latency and its
  // bytes at the hop's rate on top of the access network, in the uplink and downlink stages.
  for (const std::string strategy : {"opsc", "cloud-only"}) {
    INFO(strategy);
    const std::string base = one_device(strategy);
    std::string with = base;
    with.replace(with.find("max_batch = 32"), 14, "max_batch = 32\nlink = \"ethernet-1g\"");
    const System s0 = system_from(base), s1 = system_from(with);
    REQUIRE(s1.server_groups[0].link);
    const SimResult r0 = run_sim(s0), r1 = run_sim(s1), full = run_sim(s1, true);
    const RequestRecord &a = r0.requests.at(0), &b = r1.requests.at(0), &c = full.requests.at(0);
    const LinkProfile& l = *s1.server_groups[0].link;
    const CostModel cost(s1);
    const double up_block = cost.uplink_bytes(b.prompt_tokens), up_step = cost.uplink_bytes(1), down = cost.downlink_bytes();
    const bool streamed = strategy == "cloud-only";
    const double hops_up = l.latency.value + up_block / l.uplink.value +
                           (streamed ? 0.0 : static_cast<double>(b.output_tokens - 1) * (l.latency.value + up_step / l.uplink.value));
    const double hops_down = static_cast<double>(b.output_tokens) * (l.latency.value + down / l.downlink.value);
    CHECK(b.uplink - a.uplink == Approx(hops_up).epsilon(1e-9));
    CHECK(b.downlink - a.downlink == Approx(hops_down).epsilon(1e-9));
    if (!streamed) CHECK(b.e2e - a.e2e == Approx(hops_up + hops_down).epsilon(1e-9));
    // Full mode (the hop waited out in each device's actor, each streamed token through it on its own) agrees,
    // and so does the cost model's closed form of one device alone.
    CHECK(rel(c.e2e, b.e2e) < 1e-9);
    CHECK(rel(c.ttft, b.ttft) < 1e-9);
    CHECK(rel(cost.estimate(0, b.prompt_tokens, b.output_tokens).e2e, b.e2e) < 1e-9);
  }
}

TEST_CASE("pool: server groups behind different router links, fast and full mode alike", "[sim][pool][hop]") {
  std::string near = pool(12, 2, "least-outstanding", "0.05/s", 5);
  near.replace(near.find("max_batch = 4"), 13, "max_batch = 4\nlink = \"ethernet-1g\"");
  const std::string text =
      with_group(near, "name = \"far\"\nprofile = \"a6000\"\ncount = 1\nmax_batch = 16\nlink = \"lte\"");
  const System sys = system_from(text);
  REQUIRE(sys.server_groups.size() == 2);
  REQUIRE(sys.server_groups[1].link->name == "lte");
  const SimResult fast = run_sim(sys), full = run_sim(sys, true);
  REQUIRE(fast.requests.size() == full.requests.size());
  for (size_t i = 0; i < fast.requests.size(); ++i) {
    INFO("request " << i);
    CHECK(rel(fast.requests[i].e2e, full.requests[i].e2e) < 1e-9);
    CHECK(rel(fast.requests[i].ttft, full.requests[i].ttft) < 1e-9);
  }
  // A link that follows a trace is refused for a hop (it has no clock there), naming the key.
  std::string traced = one_device("opsc");
  traced.replace(traced.find("max_batch = 32"), 14, "max_batch = 32\nlink = \"lte-varying\"");
  CHECK_THROWS_WITH(system_from(traced), Catch::Matchers::Contains("server.groups[0].link: expected a constant link"));
}

TEST_CASE("pool: a server group with its own weight precision", "[sim][pool][group-bits]") {
  // Two L4 groups of one server each under round-robin: the second serves its layers at 4 bits where the first
  // (split.cloud_bits) uses 8. Its iterations stream half the weight bytes: less busy time for the same work.
  std::string base = pool(8, 1, "round-robin", "0.05/s", 4);
  base.replace(base.find("cloud_bits = 4"), 14, "cloud_bits = 8");
  const std::string text = with_group(base, "name = \"l4-4bit\"\nprofile = \"l4\"\ncount = 1\nmax_batch = 4\ncloud_bits = 4");
  const System sys = system_from(text);
  REQUIRE(sys.server_groups.size() == 2);
  CHECK(sys.for_server_group(0).plan.cloud_bits == 8);
  CHECK(sys.for_server_group(1).plan.cloud_bits == 4);
  CHECK(CostModel(sys.for_server_group(1)).server_weight_bytes() < 0.6 * CostModel(sys.for_server_group(0)).server_weight_bytes());
  const SimResult fast = run_sim(sys), full = run_sim(sys, true);
  const auto& servers = fast.info["servers"];
  REQUIRE(servers.size() == 2);
  const double per_request_8 = servers[0]["busy_s"].get<double>() / servers[0]["requests"].get<double>();
  const double per_request_4 = servers[1]["busy_s"].get<double>() / servers[1]["requests"].get<double>();
  CHECK(per_request_4 < 0.8 * per_request_8);
  for (size_t i = 0; i < fast.requests.size(); ++i) CHECK(rel(fast.requests[i].e2e, full.requests[i].e2e) < 1e-9);
  // The first group's precision is split.cloud_bits: an override there is refused, naming the key.
  std::string first = base;
  first.replace(first.find("max_batch = 4"), 13, "max_batch = 4\ncloud_bits = 4");
  CHECK_THROWS_WITH(system_from(first), Catch::Matchers::Contains("server.groups[0].cloud_bits: expected no override on the first group"));
}
