// Energy: the radio's per-state model, a device's idle and compute energy, power modes, and the simulator's
// accounting of all three against closed forms.
#include <catch2/catch.hpp>

#include <cmath>

#include "hwprofiles/cost_model.hpp"
#include "hwprofiles/energy.hpp"
#include "sim_test_util.hpp"

using namespace splitsim;
using namespace splitsim::test;

namespace {

Sourced v(double x) { return {x, "test"}; }

RadioProfile lte_like() {
  RadioProfile r;
  r.transfer = v(1.0), r.up_per_mbps = v(0.4), r.down_per_mbps = v(0.05);
  r.tail_time = v(10), r.tail_power = v(0.8), r.promotion_time = v(0.25), r.promotion_power = v(1.2);
  return r;
}

}  // namespace

TEST_CASE("energy: the radio's per-state model by hand", "[energy]") {
  const RadioProfile r = lte_like();
  RadioState s;
  // First transfer, out of idle: promotion 0.25 x 1.2 = 0.3 J; 2 s on at 1 W; 1 MB up = 8 Mbit x 0.4 W/Mbps x 1 s.
  RadioCharge c = charge_transfer(r, s, 5, 7, 1e6, true);
  CHECK(c.now == Approx(0.3 + 2 + 3.2));
  CHECK(c.before == 0);
  // A gap of 3 s (inside the 10 s tail): 3 s x 0.8 W charged to the request before; 1 s down of 125 kB.
  c = charge_transfer(r, s, 10, 11, 125e3, false);
  CHECK(c.before == Approx(2.4));
  CHECK(c.now == Approx(1 + 0.05));
  // Overlapping transfer: only the time not already on is charged at beta.
  c = charge_transfer(r, s, 10.5, 12, 0, false);
  CHECK(c.now == Approx(1.0));
  // A gap longer than the tail: the whole tail before, a new promotion now.
  c = charge_transfer(r, s, 40, 40.5, 0, true);
  CHECK(c.before == Approx(10 * 0.8));
  CHECK(c.now == Approx(0.3 + 0.5));
  CHECK(final_tail(r) == Approx(8.0));
}

TEST_CASE("energy: an idle device draws its idle power, and computing adds the active surplus", "[energy]") {
  PowerProfile p;
  p.idle = v(2.8), p.active = v(9.7);
  CHECK(device_energy(p, 3600, 0, 0) == Approx(2.8 * 3600));  // an hour idle: 2.8 Wh
  CHECK(device_energy(p, 10, 4, 1.5) == Approx(2.8 * 10 + 6.9 * 4 + 1.5));
  PowerProfile gpu;
  gpu.idle = v(30), gpu.active = v(300);
  CHECK(server_energy(gpu, 100, 25) == Approx(30 * 100 + 270 * 25));

  // In the simulator: edge-only Raspberry Pis (no radio use), one request each after a long think: the fleet's
  // energy over the span is idle x span per device plus the compute surplus of every request.
  const std::string text = R"(name = "t-idle"
model = "tinyllama-1.1b"
[edge]
profile = "raspberry-pi-5"
link = "wifi6"
count = 3
battery = "50Wh"
[server]
profile = "a6000"
[split]
strategy = "edge-only"
edge_bits = 4
[workload]
arrival = "closed"
think_time = "30s"
requests_per_device = 2
prompt_tokens = 32
output_tokens = 16
max_seq_len = 256
)";
  const System sys = system_from(text);
  const SimResult r = run_sim(sys);
  const nlohmann::json s = r.summary();
  const PowerProfile& pi = *sys.fleet[0].device.power;
  double compute = 0, tokens = 0, request_energy = 0;
  for (const auto& q : r.requests) {
    compute += q.edge_compute + q.encode;
    tokens += static_cast<double>(q.output_tokens);
    request_energy += q.edge_energy;
    CHECK(q.radio_energy == 0);  // edge-only never transmits
    CHECK(q.edge_energy == Approx(pi.idle.value * q.e2e + (pi.active.value - pi.idle.value) * (q.edge_compute + q.encode)));
  }
  const double span = s["span_s"].get<double>();
  CHECK(span > 30);  // the think time is in the span: the devices idle through it
  const double fleet = 3 * pi.idle.value * span + (pi.active.value - pi.idle.value) * compute;
  CHECK(s["edge_power_w"].get<double>() == Approx(fleet / (3 * span)));
  CHECK(s["edge_energy_per_token_j"].get<double>() == Approx(request_energy / tokens));
  CHECK(s["battery_hours"].get<double>() == Approx(50.0 / (fleet / (3 * span))));
  CHECK(s["server_energy_per_token_j"].get<double>() == 0);  // edge-only: the server is not part of the run
}

TEST_CASE("energy: one request on a private LTE link equals the closed form", "[energy]") {
  std::string text = one_device("opsc");
  text.replace(text.find("link = \"wifi5\""), 14, "link = \"lte\"");
  const System sys = system_from(text);
  const RadioProfile& lte = *sys.fleet[0].link.radio;
  const PowerProfile& nx = *sys.fleet[0].device.power;
  for (bool full : {false, true}) {
    INFO((full ? "full" : "fast") << " mode");
    const SimResult r = run_sim(sys, full);
    REQUIRE(r.requests.size() == 1);
    const RequestRecord& q = r.requests[0];
    // The radio is on from the prompt block's send (after the device's prefill and encode) to the last token;
    // every gap between transfers is far inside LTE's 11.6 s tail, so it sits in the tail state between them.
    const CostModel cost(sys);
    const DeviceWork first = cost.device_prefill(0, q.prompt_tokens);
    const double on = q.e2e - (first.edge_compute + first.encode);
    const double xfer = q.uplink + q.downlink;
    const double radio = lte.promotion_time.value * lte.promotion_power.value + lte.transfer.value * xfer +
                         8e-6 * (lte.up_per_mbps.value * q.bytes_up + lte.down_per_mbps.value * q.bytes_down) +
                         lte.tail_power.value * (on - xfer) + lte.tail_time.value * lte.tail_power.value;
    CHECK(q.radio_energy == Approx(radio).epsilon(1e-9));
    CHECK(q.edge_energy ==
          Approx(nx.idle.value * q.e2e + (nx.active.value - nx.idle.value) * (q.edge_compute + q.encode) + radio)
              .epsilon(1e-9));
  }
}

TEST_CASE("energy: the Orin modules' nvpmodel modes cap the GPU clock, gate TPCs and cap the memory clock",
          "[energy][power-mode]") {
  // From NVIDIA's nvpmodel files: AGX Orin 64GB MODE_15W runs 3 of 8 TPCs at 408 of 1300 MHz with EMC at 2133 of
  // 3199 MHz; the Orin NX 16GB's 25 W mode keeps 4 of 4 TPCs at 408 of 918 MHz with memory uncapped.
  auto with = [](const std::string& profile, const std::string& mode) {
    std::string text = one_device("opsc");
    text.replace(text.find("jetson-xavier-nx"), 16, profile);
    if (!mode.empty()) text.replace(text.find("count = 1"), 9, "count = 1\npower_mode = \"" + mode + "\"");
    return system_from(text);
  };
  const System agx = with("jetson-agx-orin", ""), agx15 = with("jetson-agx-orin", "15W"),
               agxmax = with("jetson-agx-orin", "MAXN");
  const HwProfile &d = agx.fleet[0].device, &d15 = agx15.fleet[0].device;
  CHECK(d15.peak.at("fp16").value == Approx(d.peak.at("fp16").value * 408.0 / 1300.0 * 3.0 / 8.0).epsilon(1e-4));
  CHECK(d15.memory_bandwidth.value == Approx(d.memory_bandwidth.value * 2133.0 / 3199.0).epsilon(1e-4));
  CHECK(agxmax.fleet[0].device.memory_bandwidth.value == d.memory_bandwidth.value);
  CHECK(d15.power->active.value == 15);
  const System nx = with("jetson-orin-nx-16gb", ""), nx25 = with("jetson-orin-nx-16gb", "25W");
  CHECK(nx25.fleet[0].device.peak.at("fp16").value ==
        Approx(nx.fleet[0].device.peak.at("fp16").value * 408.0 / 918.0).epsilon(1e-4));
  CHECK(nx25.fleet[0].device.memory_bandwidth.value == nx.fleet[0].device.memory_bandwidth.value);
  // The capped memory clock slows the AGX's decode steps (by less than the clock ratio: part of a step is its
  // kernels' launch overhead, which the mode leaves alone), and the gated TPCs its compute-bound prefill far more.
  const RequestRecord a = run_sim(agx).requests.at(0), b = run_sim(agx15).requests.at(0);
  CHECK(b.tpot > a.tpot * 1.15);
  CHECK(b.ttft > a.ttft * 3);
  CHECK(with("jetson-orin-nano-super", "MAXN_SUPER").fleet[0].device.peak.at("fp16").value ==
        with("jetson-orin-nano-super", "").fleet[0].device.peak.at("fp16").value);
}

TEST_CASE("energy: a power mode changes the device's speed and its energy consistently", "[energy][power-mode]") {
  auto with_mode = [](const std::string& mode) {
    std::string text = one_device("opsc");
    text.replace(text.find("count = 1"), 9, "count = 1\npower_mode = \"" + mode + "\"");
    return system_from(text);
  };
  const System base = system_from(one_device("opsc"));
  const System m10 = with_mode("10W"), m15 = with_mode("15W"), m20 = with_mode("20W");
  // The modes scale the profile's clocks: 10 W lowers the GPU clock, 20 W raises the memory clock.
  CHECK(m10.fleet[0].device.peak.at("fp16").value == Approx(base.fleet[0].device.peak.at("fp16").value * 0.7241));
  CHECK(m20.fleet[0].device.memory_bandwidth.value == Approx(51.2e9 * 1.1663));
  CHECK(m15.fleet[0].device.memory_bandwidth.value == base.fleet[0].device.memory_bandwidth.value);
  const RequestRecord a = run_sim(m10).requests.at(0), b = run_sim(m15).requests.at(0), c = run_sim(m20).requests.at(0);
  // The prefill is compute-bound: slower at 10 W. Decode steps stream weights: faster at 20 W.
  CHECK(a.edge_compute > b.edge_compute * 1.01);
  CHECK(c.edge_compute < b.edge_compute * 0.99);
  for (const auto& [sys, q] : {std::pair{&m10, &a}, std::pair{&m15, &b}, std::pair{&m20, &c}}) {
    const PowerProfile& p = *sys->fleet[0].device.power;
    CHECK(q->edge_energy == Approx(device_energy(p, q->e2e, q->edge_compute + q->encode, q->radio_energy)));
  }
  // Each mode charges its own active power for the compute it does.
  CHECK(m10.fleet[0].device.power->active.value == 10);
  CHECK(m20.fleet[0].device.power->active.value == 20);
  // A mode the profile does not have, or a profile without modes, is a one-line error naming the key.
  CHECK_THROWS_WITH(with_mode("30W"), Catch::Matchers::Contains("edge.power_mode: expected one of 10W, 15W, 20W (jetson-xavier-nx), got \"30W\""));
  std::string pi = one_device("opsc");
  pi.replace(pi.find("jetson-xavier-nx"), 16, "raspberry-pi-5");
  pi.replace(pi.find("count = 1"), 9, "count = 1\npower_mode = \"10W\"");
  CHECK_THROWS_WITH(system_from(pi), Catch::Matchers::Contains("edge.power_mode: expected a device profile with power modes"));
}
