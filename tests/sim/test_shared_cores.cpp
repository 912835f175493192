// Devices computing on the server's shared cores (server.shared_cores): every edge step and server iteration
// is an exec on one multi-core host; an exec uses one core at most and more execs than cores share them equally.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "hwprofiles/measured_tables.hpp"

#include "sim_test_util.hpp"

using namespace splitsim;
using namespace splitsim::test;

namespace {

std::string fleet(const std::string& strategy, int devices, int shared_cores) {
  std::string s = one_device(strategy);
  s.replace(s.find("count = 1"), 9, fmt::format("count = {}", devices));
  if (shared_cores > 0)
    s.replace(s.find("max_batch = 32"), 14, fmt::format("max_batch = 32\nshared_cores = {}", shared_cores));
  return s;
}

}  // namespace

TEST_CASE("shared cores: k edge-only devices on C cores each run max(1, k / C) times slower", "[sim][shared-cores]") {
  const SimResult alone = run_sim(system_from(fleet("edge-only", 1, 0)));
  REQUIRE(alone.requests.size() == 1);
  const double e2e = alone.requests[0].e2e;
  for (auto [k, c] : {std::pair{1, 2}, {2, 2}, {4, 2}, {6, 2}, {3, 1}, {4, 4}}) {
    const SimResult r = run_sim(system_from(fleet("edge-only", k, c)));
    INFO(k << " devices on " << c << " cores: " << r.info.value("sim_mode_reason", std::string()));
    CHECK(r.info.value("sim_mode", std::string()) == "full");
    CHECK(r.info.value("sim_mode_reason", std::string()).find("shared core") != std::string::npos);
    REQUIRE(r.requests.size() == static_cast<size_t>(k));
    const double slowdown = std::max(1.0, static_cast<double>(k) / c);
    for (const auto& q : r.requests) CHECK(rel(q.e2e, slowdown * e2e) < 1e-9);
  }
}

TEST_CASE("shared cores: enough cores for every step at once change nothing", "[sim][shared-cores]") {
  // Four split devices and the server on 8 cores never contend: the records equal those of separate hosts.
  for (const char* strategy : {"opsc", "split-fp16", "cloud-only"}) {
    INFO(strategy);
    const SimResult own = run_sim(system_from(fleet(strategy, 4, 0)), true);
    const SimResult shared = run_sim(system_from(fleet(strategy, 4, 8)));
    REQUIRE(own.requests.size() == shared.requests.size());
    for (size_t i = 0; i < own.requests.size(); ++i) {
      CHECK(rel(shared.requests[i].ttft, own.requests[i].ttft) < 1e-9);
      CHECK(rel(shared.requests[i].e2e, own.requests[i].e2e) < 1e-9);
    }
    CHECK(rel(shared.totals.server_busy, own.totals.server_busy) < 1e-9);
  }
}

TEST_CASE("shared cores: fewer cores than computing steps slow the requests down", "[sim][shared-cores]") {
  // Four lockstep split devices: their edge steps overlap, so on one core each takes about four times as long.
  const SimResult own = run_sim(system_from(fleet("opsc", 4, 0)), true);
  const SimResult one = run_sim(system_from(fleet("opsc", 4, 1)));
  const SimResult two = run_sim(system_from(fleet("opsc", 4, 2)));
  REQUIRE(one.requests.size() == 4);
  for (size_t i = 0; i < 4; ++i) {
    CHECK(two.requests[i].e2e > 1.2 * own.requests[i].e2e);
    CHECK(one.requests[i].e2e > 1.2 * two.requests[i].e2e);
    // The cost of each step is the same; only the waiting for a core grows.
    CHECK(rel(one.requests[i].edge_compute, own.requests[i].edge_compute) < 1e-12);
  }
}

namespace {

std::vector<double> e2e_with_bus(int devices, double single, double all) {
  System sys = system_from(fleet("edge-only", devices, 2));
  sys.server.measured = measured_tables(single, all);
  const SimResult r = run_sim(sys);
  std::vector<double> v;
  for (const auto& q : r.requests) v.push_back(q.e2e);
  return v;
}

}  // namespace

TEST_CASE("shared cores: steps streaming weights at once share the memory bus", "[sim][shared-cores]") {
  // A slow single-stream rate makes every step's stream as long as the step itself (the stream is capped at what
  // the step alone reads in its time), so the bus decides: two steps on a bus of 1.6 streams take 2 / 1.6 as long.
  const double alone = run_sim(system_from(fleet("edge-only", 1, 0))).requests.at(0).e2e;
  const double single = 1e6;  // B/s, far below what a step reads: every stream is capped at its step's time
  CHECK(rel(e2e_with_bus(1, single, 1.6 * single).at(0), alone) < 1e-9);  // alone: unchanged
  for (double e : e2e_with_bus(2, single, 1.6 * single)) CHECK(rel(e, 1.25 * alone) < 1e-9);
  for (double e : e2e_with_bus(2, single, 2.0 * single)) CHECK(rel(e, alone) < 1e-9);   // room for both
  for (double e : e2e_with_bus(4, single, 1.6 * single)) CHECK(rel(e, 2.5 * alone) < 1e-9);  // 4 on 2 cores, 1.6 streams
  // A fast bus never slows anything: the cores decide (4 devices on 2 cores: 2x).
  for (double e : e2e_with_bus(4, 1e15, 2e15)) CHECK(rel(e, 2.0 * alone) < 1e-9);
}
