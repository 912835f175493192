// The simulated network, decided before SimGrid sees it: which hosts and links exist, the route of every
// device, and which transfers need SimGrid's flow-level solver at all.
//
// Two modes build the same system:
//  - full: every device is a host with its own access link (or its cell's shared link), the backbone is a link,
//    every transfer is a SimGrid comm over the whole route and every edge computation a SimGrid exec.
//  - fast: a link that only one flow at a time can use is not contention, so its transfers are computed in
//    closed form (CostModel::transfer_up/down) without the LMM solver. Shared cells stay SimGrid links; the
//    backbone stays a SimGrid link unless the sum of the rates of every flow that could cross it is within
//    its capacity (then no max-min share is ever limited by it, and its latency folds into the cell link).
//    Private access links in front of a simulated backbone become one FATPIPE link per group (each flow is
//    capped at the access rate and never shares it, which is what a private link carrying one flow does).
// Optimistic fast mode (assume_backbone_free) leaves a backbone that could bind out of the platform and
// records every transfer's interval; afterwards check_backbone_free() proves from those intervals that the
// flows crossing the backbone never together could exceed it (then adding it changes no max-min share, so the
// run is exact), or the caller reruns with the backbone simulated.
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
};

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
  bool backbone_check_needed = false;  // optimistic run: check_backbone_free() must pass
  std::vector<NetLink> links;
  std::vector<NetHost> hosts;          // hosts[0] is the server
  std::vector<int32_t> device_host;    // per device: host carrying its transfers, -1 = closed form
  std::vector<int64_t> group_begin;    // first device index of each fleet group, plus the total at the end
  double uplink_capacity = 0;          // B/s summed over access uplinks (private links and cells)

  size_t group_of(int64_t device) const;
  int64_t devices() const { return group_begin.back(); }
  std::string to_xml(const std::string& title) const;  // a SimGrid platform file, for inspection
};

Topology plan_topology(const System& sys, const CostModel& cost, bool full, bool assume_backbone_free = false);

// A transfer's bandwidth phase as seen by the backbone: [start, end) and the link that caps it (a cell, or one device's private
// link) with that link's bandwidth.
struct FlowSpan {
  double start = 0, end = 0;
  int64_t key = 0;  // >= 0: topology host of a cell; < 0: -1 - device (private link)
  double cap = 0;   // B/s
};

// True when at every instant the summed caps of the links carrying flows stay within capacity (B/s).
bool check_backbone_free(std::vector<FlowSpan>& spans, double capacity);

}  // namespace splitsim
