// The analytic fleet model under Poisson arrivals against the simulator (oracle tests: the simulator is the
// reference, the tolerance is the model's and says why): a device runs one request at a time, so a request
// that arrives while its device is busy waits for it (an M/D/1 queue per device).
#include <catch2/catch.hpp>

#include <string>

#include "core/overrides.hpp"
#include "core/scenario.hpp"
#include "explorer/fleet_model.hpp"
#include "sim/simulation.hpp"

using namespace splitsim;

namespace {

System paper_poisson(int64_t devices, int64_t requests_per_device) {
  return resolve_system(load_scenario(data_dir() + "/scenarios/paper-llama2-7b-xavier-a6000.toml",
                                      parse_overrides({"workload.arrival=\"poisson\"", "workload.rate=\"0.02/s\"",
                                                       "edge.count=" + std::to_string(devices),
                                                       "workload.requests_per_device=" +
                                                           std::to_string(requests_per_device)})));
}

double simulated_ttft(const System& sys) {
  const SimResult r = simulate_isolated(sys);
  double s = 0, n = 0;
  for (const auto& q : r.requests)
    if (!q.oom) s += q.ttft, n += 1;
  REQUIRE(n > 0);
  return s / n;
}

}  // namespace

TEST_CASE("fleet poisson: TTFT includes the wait for the device's previous request", "[explorer][fleet][poisson]") {
  // Paper scenario, 0.02 requests/s per device, 20 requests each: an 8.3 s request keeps its device busy with
  // rho = 0.17, so the M/D/1 wait (0.8 s) is three times the 0.28 s TTFT alone (leaving it out misses by -74%).
  // Measured: -2.1% (16 devices), +4.0% (64). Tolerance 8%: the service time carries the model's end-to-end
  // error, and the first request of each device sees it idle while the later ones are taken as stationary.
  for (int64_t devices : {16, 64}) {
    const System sys = paper_poisson(devices, 20);
    const FleetEstimate f = estimate_fleet(CostModel(sys));
    const double sim = simulated_ttft(sys);
    INFO(devices << " devices: analytic ttft " << f.mean_ttft() << " (device queue " << f.groups[0].device_queue
                 << "), simulated " << sim);
    CHECK(f.groups[0].device_queue > 0);
    CHECK(std::abs(f.mean_ttft() - sim) / sim < 0.08);
  }
}

TEST_CASE("fleet poisson: one request per device never waits for its device", "[explorer][fleet][poisson]") {
  // Each device's only request finds it idle; the simulator agrees (measured +0.1% on TTFT at 16 devices).
  const System sys = paper_poisson(16, 1);
  const FleetEstimate f = estimate_fleet(CostModel(sys));
  CHECK(f.groups[0].device_queue == 0);
  CHECK(std::abs(f.mean_ttft() - simulated_ttft(sys)) / simulated_ttft(sys) < 0.02);
}

TEST_CASE("fleet: a dephased closed loop whose prefills outrun its think time queues them as a burst",
          "[explorer][fleet]") {
  // The paper scenario at 256 devices: the first requests start spread over 2 s, but 256 prefills take the A6000
  // longer than that, so they queue. Measured: the screen's TTFT 0.292 s without the burst term (-57% against the
  // simulator's 0.686 s), -16% with it (0.574 s); at 16 devices the prefills fit the window and nothing changes.
  for (int64_t devices : {16, 256}) {
    const System sys = resolve_system(load_scenario(data_dir() + "/scenarios/paper-llama2-7b-xavier-a6000.toml",
                                                    parse_overrides({"edge.count=" + std::to_string(devices)})));
    const FleetEstimate f = estimate_fleet(CostModel(sys));
    const double sim = simulated_ttft(sys);
    INFO(devices << " devices: analytic ttft " << f.mean_ttft() << ", simulated " << sim);
    CHECK(std::abs(f.mean_ttft() - sim) / sim < 0.2);
  }
}
