// Network planning: which transfers are closed form, which are SimGrid comms, and the full reference mode.
#include <catch2/catch.hpp>

#include "sim/topology.hpp"
#include "sim_test_util.hpp"

using namespace splitsim;
using namespace splitsim::test;

TEST_CASE("private links behind a roomy backbone are closed form", "[sim][topology]") {
  System sys = system_from(one_device("opsc"));
  CostModel cost(sys);
  Topology t = plan_topology(sys, cost, false);
  CHECK_FALSE(t.full);
  CHECK_FALSE(t.backbone_simulated);
  CHECK(t.device_host[0] == -1);
  Topology f = plan_topology(sys, cost, true);
  CHECK(f.full);
  CHECK(f.backbone_simulated);
  REQUIRE(f.device_host[0] > 0);
  CHECK(f.hosts[static_cast<size_t>(f.device_host[0])].to_center.size() == 1);
  REQUIRE(f.hosts[0].from_center.size() == 1);  // backbone-up into the server
  CHECK(f.links[static_cast<size_t>(f.hosts[0].from_center[0])].name == "backbone-up");
  std::string xml = f.to_xml("test");
  CHECK(xml.find("<route src=\"dev0\" dst=\"server\"") != std::string::npos);
  CHECK(xml.find("backbone-up") != std::string::npos);
}

TEST_CASE("cells share one link per cell, and a binding backbone is simulated", "[sim][topology]") {
  std::string text = one_device("opsc");
  text.replace(text.find("count = 1"), 9, "count = 10\ncell_size = 4");
  System sys = system_from(text);
  CostModel cost(sys);
  Topology t = plan_topology(sys, cost, false);
  CHECK_FALSE(t.backbone_simulated);  // 3 Wi-Fi 5 cells stay below 10 GbE
  CHECK(t.device_host[0] == t.device_host[3]);
  CHECK(t.device_host[3] != t.device_host[4]);
  CHECK(t.device_host[9] == t.device_host[8]);
  // The backbone latency folds into the cell link when the backbone is not a link.
  CHECK(t.links[0].latency == Approx(sys.fleet[0].link.latency.value + sys.backbone.latency.value));

  std::string slow = one_device("opsc");
  slow.replace(slow.find("count = 1"), 9, "count = 10");
  slow.replace(slow.find("ethernet-10g"), 12, "ethernet-1g");
  System s2 = system_from(slow);
  CostModel c2(s2);
  Topology t2 = plan_topology(s2, c2, false);
  CHECK(t2.backbone_simulated);  // 10 x 150 Mbps > 941 Mbps
  CHECK_FALSE(t2.full);
  CHECK(t2.device_host[0] == t2.device_host[9]);  // one FATPIPE gateway for the group
  CHECK(t2.links[2].fatpipe);
}
