// The simulated network, decided before SimGrid sees it: which hosts and links exist, the route of every
// device, and which transfers need SimGrid's flow-level solver at all.
//
// Two modes build the same system:
//  - full: every device is a host with its own access link (or its cell's shared link), the backbone is a link,
//    every transfer is a SimGrid comm over the whole route and every edge computation a SimGrid exec.
//  - fast: a link that only one flow at a time can use is not contention, so its transfers are computed in
//    closed form (CostModel::transfer_up/down) without a max-min solver. Shared cells stay links; the
//    backbone stays a link unless the sum of the rates of every flow that could cross it is within
//    its capacity (then no max-min share is ever limited by it, and its latency folds into the cell link).
//    Private access links in front of a simulated backbone become one FATPIPE link per group (each flow is
//    capped at the access rate and never shares it, which is what a private link carrying one flow does).
// In fast mode the cell links, gateways and a simulated backbone are not given to SimGrid: simulation.cpp
// hands them to a StarNetwork (exact max-min sharing on this star, star_network.hpp).
// When fast mode cannot prove equivalence (a cloud-only token stream whose tokens could overlap on one
// private link) the plan falls back to full mode and says why.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "hwprofiles/cost_model.hpp"

namespace splitsim {

struct NetLink {
  std::string name;
  double bandwidth = 0;  // B/s
  double latency = 0;    // s
  bool fatpipe = false;  // FATPIPE: every flow gets the whole bandwidth; else SHARED (max-min fair)
  const LinkTrace* trace = nullptr;  // an access link whose bandwidth follows a trace (bandwidth is its peak)
  bool uplink = true;                // which of the trace's fractions it follows
  double phase = 0;                  // s: the link is at trace time t + phase at simulated time t
};

// The phase (s) at which access link `key` (a private device's index, or -1 - the fleet-wide index of a cell)
// of fleet group g enters its link's trace: seeded per link, or 0 with trace_phase = "aligned".
double trace_phase(const System& sys, size_t g, int64_t key);

// A host of a star-shaped platform: links from the host to the centre and from the centre to the host.
struct NetHost {
  std::string name;
  std::vector<int32_t> to_center, from_center;  // indices into Topology::links
};

struct Topology {
  bool full = false;
  std::string mode_reason;         // why this mode / whether the backbone is simulated
  bool backbone_simulated = false;
  bool backbone_may_bind = false;      // statically: the access links together can exceed the backbone
  std::vector<NetLink> links;
  std::vector<NetHost> hosts;          // hosts[0] is the server
  std::vector<int32_t> device_host;    // per device: host carrying its transfers, -1 = closed form
  std::vector<int64_t> group_begin;    // first device index of each fleet group, plus the total at the end
  double uplink_capacity = 0;          // B/s summed over access uplinks (private links and cells)
  int64_t server_cores = 1;            // cores of the server host (> 1 only when the devices share them)
  // Shared cores with a measured memory table: the host's memory bus, a link between two hosts of its own that
  // every step's weight stream crosses (capacity: all threads' read bandwidth; each stream capped at one
  // thread's by a FATPIPE link in front of it). -1: no memory bus.
  int32_t memory_src = -1, memory_dst = -1;
  double memory_single = 0;            // B/s one stream alone

  size_t group_of(int64_t device) const;
  int64_t devices() const { return group_begin.back(); }
  std::string to_xml(const std::string& title) const;  // a SimGrid platform file, for inspection
};

Topology plan_topology(const System& sys, const CostModel& cost, bool full);


}  // namespace splitsim
