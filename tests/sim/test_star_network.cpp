// The fast mode's max-min solver (StarNetwork) against hand-computed water filling and against SimGrid's own
// solver on random small stars (cells of several sizes, FATPIPE gateways, unequal route latencies, a
// backbone that binds part of the time).
#include <catch2/catch.hpp>

#include <simgrid/s4u.hpp>

#include <fmt/format.h>

#include "sim/platform.hpp"
#include "sim/star_network.hpp"
#include "sim/topology.hpp"
#include "sim/workload.hpp"
#include "sim_test_util.hpp"

using namespace splitsim;

namespace {

struct Flow {
  double start;  // when the comm is posted; the bandwidth phase begins one route latency later
  int32_t link;
  double bytes;
};

struct Star {
  std::vector<NetLink> links;  // access links
  double backbone = 0, backbone_latency = 0;
  std::vector<Flow> flows;
};

std::vector<double> finish_star_network(const Star& s) {
  StarNetwork net(s.backbone);
  for (const auto& l : s.links) net.add_link(l.bandwidth, l.latency + s.backbone_latency, l.fatpipe);
  for (size_t i = 0; i < s.flows.size(); ++i) {
    const Flow& f = s.flows[i];
    const NetLink& l = s.links[static_cast<size_t>(f.link)];
    net.add_flow(f.start + l.latency + s.backbone_latency, f.link, f.bytes, i);
  }
  std::vector<double> end(s.flows.size(), -1);
  std::vector<StarNetwork::Done> done;
  while (std::isfinite(net.next_event())) {
    done.clear();
    double t = net.step(done);
    for (const auto& f : done) end[f.tag] = t;
  }
  return end;
}

std::vector<double> finish_simgrid(const Star& s) {
  nlohmann::json j = run_isolated([&] {
    namespace s4u = simgrid::s4u;
    s4u::Engine engine("star");
    configure_engine(s.flows.size() + 1, true);
    Topology topo;
    topo.links = s.links;
    int32_t bb = static_cast<int32_t>(topo.links.size());
    topo.links.push_back({"backbone", s.backbone, s.backbone_latency, false});
    topo.hosts.push_back({"server", {}, {bb}});
    for (size_t l = 0; l < s.links.size(); ++l)
      topo.hosts.push_back({fmt::format("h{}", l), {static_cast<int32_t>(l)}, {}});
    auto hosts = build_platform(topo);
    std::vector<double> end(s.flows.size(), -1);
    for (size_t i = 0; i < s.flows.size(); ++i) {
      s4u::Actor::create(fmt::format("f{}", i), hosts[0], [&, i] {
        const Flow& f = s.flows[i];
        s4u::this_actor::sleep_until(f.start);
        s4u::Comm::sendto(hosts[static_cast<size_t>(f.link) + 1], hosts[0], sim_payload(f.bytes));
        end[i] = s4u::Engine::get_clock();
      });
    }
    engine.run();
    return nlohmann::json(end);
  });
  return j.get<std::vector<double>>();
}

}  // namespace

TEST_CASE("StarNetwork: water filling by hand", "[sim][network]") {
  // Cell A (1 flow) and cell B (3 flows), 100 B/s each, backbone 150 B/s, equal penalties. Level 150 / 4 =
  // 37.5 exceeds B's own cap 100 / 3, so B keeps 33.3 per flow and A gets the remaining 50. A's 100 B end at
  // t = 2; then B's flows (33.3 B left each) finish at t = 3 at their own cap.
  StarNetwork net(150);
  int32_t a = net.add_link(100, 1, false), b = net.add_link(100, 1, false);
  net.add_flow(0, a, 100, 0, -0.25);  // issued 0.25 s before its bandwidth phase (the route latency)
  for (uint64_t i = 1; i <= 3; ++i) net.add_flow(0, b, 100, i);
  std::vector<StarNetwork::Done> done;
  CHECK(net.step(done) == 0);  // the starts
  CHECK(done.empty());
  CHECK(net.backbone_level() == Approx(50.0));  // A is backbone-limited at 50 B/s (penalty 1)
  CHECK(net.step(done) == Approx(2.0).epsilon(1e-14));
  REQUIRE(done.size() == 1);
  CHECK(done[0].tag == 0);
  CHECK(done[0].issued == -0.25);  // returned as given: the caller's transfer time counts from it
  done.clear();
  CHECK(net.step(done) == Approx(3.0).epsilon(1e-14));
  REQUIRE(done.size() == 3);
  CHECK(done[2].issued == 0);  // by default a flow is issued when its bandwidth phase starts
  CHECK(net.active_flows() == 0);
  CHECK_FALSE(std::isfinite(net.next_event()));
}

TEST_CASE("StarNetwork: a smaller route latency earns a larger backbone share", "[sim][network]") {
  // Two unconstrained access links, backbone 90 B/s, penalties 1 and 2: rates 60 and 30 (weight 1 / penalty).
  StarNetwork net(90);
  int32_t a = net.add_link(1000, 1, false), b = net.add_link(1000, 2, true);
  net.add_flow(0, a, 60, 0);
  net.add_flow(0, b, 60, 1);
  std::vector<StarNetwork::Done> done;
  net.step(done);
  CHECK(net.step(done) == Approx(1.0).epsilon(1e-14));  // a: 60 B at 60 B/s
  REQUIRE(done.size() == 1);
  CHECK(done[0].tag == 0);
  done.clear();
  CHECK(net.step(done) == Approx(4.0 / 3.0).epsilon(1e-14));  // b: 30 B left, then alone at 90 B/s
}

TEST_CASE("StarNetwork equals SimGrid's solver on random stars", "[sim][network]") {
  Rng rng(77);
  for (int round = 0; round < 60; ++round) {
    Star s;
    const int nlinks = 2 + static_cast<int>(rng.uniform_int(0, 4));
    for (int l = 0; l < nlinks; ++l) {
      const bool fat = rng.uniform() < 0.3;
      s.links.push_back({fmt::format("l{}", l), 50e6 * (1 + rng.uniform_int(0, 3)),
                         1e-3 * static_cast<double>(1 + rng.uniform_int(0, 2)), fat});
    }
    s.backbone = 60e6 * static_cast<double>(1 + rng.uniform_int(0, 3));
    s.backbone_latency = 5e-4;
    const int nflows = 10 + static_cast<int>(rng.uniform_int(0, 30));
    for (int f = 0; f < nflows; ++f) {
      // Some flows start together (the server ends a batch), the others at random instants.
      const double start = rng.uniform() < 0.3 ? 0.01 : 0.05 * rng.uniform();
      s.flows.push_back({start, static_cast<int32_t>(rng.uniform_int(0, nlinks - 1)),
                         rng.uniform() < 0.5 ? 3188.0 : 1e5 * (1 + rng.uniform())});
    }
    std::vector<double> mine = finish_star_network(s), ref = finish_simgrid(s);
    REQUIRE(mine.size() == ref.size());
    for (size_t i = 0; i < mine.size(); ++i) {
      INFO("round " << round << " flow " << i << " link " << s.flows[i].link);
      CHECK(test::rel(mine[i] - s.flows[i].start, ref[i] - s.flows[i].start) < 1e-9);
    }
  }
}

TEST_CASE("StarNetwork: flows that SimGrid finishes together finish in one step", "[sim][network]") {
  // Twins: two flows posted at the same instant with the same bytes on different gateways of the same route
  // latency. Their rates are equal at every instant, so SimGrid's remains are the same doubles and both end in
  // one event; the server then orders their items by device. The StarNetwork keys the two gateways from
  // different histories (level sums folded at different events), so their keys differ by float noise of the
  // clock: ~1e-13 of a level sum that restarted when the backbone began binding late in a run. That noise must
  // not split them into two steps a few ulps apart, or the server takes them in the other order.
  Rng rng(1000);
  int twins = 0;
  for (int round = 0; round < 20; ++round) {
    Star s;
    const int nlinks = 2 + static_cast<int>(rng.uniform_int(0, 1));
    for (int l = 0; l < nlinks; ++l) s.links.push_back({fmt::format("l{}", l), 31.25e6, 1.5e-3, true});
    s.backbone = 117.625e6;  // binds with 4 flows at full rate
    s.backbone_latency = 1e-4;
    const double t0 = 1.0 + 3 * rng.uniform();  // the clock's ulp >> that of a level sum begun near t0
    std::vector<std::pair<size_t, size_t>> pairs;
    for (int f = 0; f < 12; ++f) {
      const double start = t0 + 0.004 * rng.uniform();
      const auto link = static_cast<int32_t>(rng.uniform_int(0, nlinks - 1));
      const double bytes = rng.uniform() < 0.5 ? 4096.0 : 1e5 * (1 + rng.uniform());
      s.flows.push_back({start, link, bytes});
      if (rng.uniform() < 0.5) {
        s.flows.push_back({start, (link + 1) % nlinks, bytes});
        pairs.emplace_back(s.flows.size() - 2, s.flows.size() - 1);
      }
    }
    std::vector<double> mine = finish_star_network(s), ref = finish_simgrid(s);
    for (auto [i, j] : pairs) {
      INFO("round " << round << " flows " << i << " and " << j);
      REQUIRE(ref[i] == ref[j]);  // the premise: SimGrid ends twins in one event
      CHECK(mine[i] == mine[j]);
      CHECK(test::rel(mine[i] - s.flows[i].start, ref[i] - s.flows[i].start) < 1e-9);
      ++twins;
    }
  }
  CHECK(twins > 50);
}
