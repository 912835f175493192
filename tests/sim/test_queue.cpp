// Queueing oracle: the server actor fed by Poisson arrivals with a fixed service time is an M/D/1 queue; its
// mean wait must match Pollaczek-Khinchine, W = rho * D / (2 (1 - rho)).
#include <catch2/catch.hpp>

#include <simgrid/s4u.hpp>

#include "sim/platform.hpp"
#include "sim/server.hpp"
#include "sim/simulation.hpp"
#include "sim/topology.hpp"
#include "sim/workload.hpp"

using namespace splitsim;

namespace {

nlohmann::json md1(double rho, double service, int64_t customers, bool pushed_live) {
  return run_isolated([=] {
    namespace s4u = simgrid::s4u;
    s4u::Engine engine("md1");
    configure_engine(2);
    Topology topo;
    topo.hosts.push_back({"server", {}, {}});
    auto hosts = build_platform(topo);
    double wait_sum = 0;
    int64_t served = 0;
    Server server(
        1, 1e30, [service](std::span<const ServerItem>, double) { return service; },
        [&](const ServerItem& it, double start, double) {
          wait_sum += start - it.ready;
          ++served;
        });
    s4u::Actor::create("server", hosts[0], [&] { server.run(); })->daemonize();
    s4u::Actor::create("source", hosts[0], [&] {
      Rng rng(2024);
      double t = 0;
      for (int64_t i = 0; i < customers; ++i) {
        t += rng.exponential(rho / service);
        if (pushed_live) {
          s4u::this_actor::sleep_until(t);  // the item arrives now, from a running actor
          server.push({t, i, 1, 0, true});
        } else {
          server.push({t, i, 1, 0, true});  // future ready times, as closed-form devices push them
        }
      }
      while (served < customers) s4u::this_actor::sleep_for(service);
    });
    engine.run();
    return nlohmann::json{{"mean_wait", wait_sum / static_cast<double>(served)}, {"served", served}};
  });
}

}  // namespace

TEST_CASE("Poisson arrivals with fixed service: mean wait within 3% of Pollaczek-Khinchine", "[sim][queue]") {
  const double service = 0.01;
  for (double rho : {0.5, 0.8}) {
    const double pk = rho * service / (2 * (1 - rho));
    for (bool live : {false, true}) {
      nlohmann::json r = md1(rho, service, 300000, live);
      INFO("rho " << rho << (live ? " live" : " queued") << ": " << r.dump() << " vs " << pk);
      CHECK(r["served"] == 300000);
      CHECK(std::abs(r["mean_wait"].get<double>() - pk) / pk < 0.03);
    }
  }
}
