// SimGrid platform construction: a star zone whose centre is the access network. Each host lists its links to
// the centre and from the centre, so a device -> server route is the device's access (or cell) link followed
// by the backbone, in memory linear in the number of hosts. Compute hosts run at 1 flop/s: an exec of x flops
// lasts exactly x seconds of cost-model time.
#include "sim/platform.hpp"

#include <simgrid/s4u.hpp>
#include <xbt/log.h>

#include <cmath>

namespace splitsim {

uint64_t sim_payload(double bytes) { return static_cast<uint64_t>(std::llround(bytes * kSimByteScale)); }

void configure_engine(size_t actors, bool reference) {
  namespace s4u = simgrid::s4u;
  xbt_log_control_set("root.thresh:warning");
  s4u::Engine::set_config("network/model:CM02");
  s4u::Engine::set_config("network/latency-factor", 1.0);
  s4u::Engine::set_config("network/bandwidth-factor", 1.0);
  s4u::Engine::set_config("network/weight-S", 0.0);
  s4u::Engine::set_config("network/crosstraffic", false);
  s4u::Engine::set_config("network/TCP-gamma", 1e300);  // the window bound gamma / (2 latency) never binds
  // Default precisions (surf 1e-9 s, maxmin 1e-5 relative) would round event dates by up to a nanosecond.
  s4u::Engine::set_config("surf/precision", 1e-13);
  s4u::Engine::set_config("maxmin/precision", 1e-11);
  // The reference mode recomputes every flow at every event. The default lazy update is exact in principle
  // but, measured here, shifts a flow by a few token-transfer times when many flows cross a link that never
  // binds (the full-mode backbone); fast mode has no such link and agrees with the full solver exactly.
  if (reference) s4u::Engine::set_config("network/optim:Full");
  s4u::Engine::set_config("contexts/stack-size", 128);  // KiB; actors here are shallow
  if (actors > 30000) s4u::Engine::set_config("contexts/guard-size", 0);  // memory-map limit
}

std::vector<simgrid::s4u::Host*> build_platform(const Topology& topo) {
  namespace s4u = simgrid::s4u;
  auto* zone = s4u::create_star_zone("splitsim");
  std::vector<s4u::Link*> links;
  links.reserve(topo.links.size());
  for (const auto& l : topo.links) {
    // A traced link starts at its trace's first fraction; the simulation changes it at the trace's times.
    const double bandwidth = l.trace ? l.bandwidth * l.trace->factor(l.uplink, l.phase) : l.bandwidth;
    auto* link = zone->create_link(l.name, bandwidth * kSimByteScale);
    link->set_latency(l.latency);
    link->set_sharing_policy(l.fatpipe ? s4u::Link::SharingPolicy::FATPIPE : s4u::Link::SharingPolicy::SHARED);
    links.push_back(link->seal());
  }
  auto in_route = [&](const std::vector<int32_t>& ids) {
    std::vector<s4u::LinkInRoute> r;
    for (auto i : ids) r.emplace_back(links[static_cast<size_t>(i)]);
    return r;
  };
  std::vector<s4u::Host*> hosts;
  hosts.reserve(topo.hosts.size());
  for (const auto& h : topo.hosts) {
    auto* host = zone->create_host(h.name, 1.0);
    // Devices sharing the server's cores: one exec (a single-threaded edge step or server iteration) runs on
    // one core at most; more execs than cores share them equally (SimGrid's CPU model).
    if (hosts.empty() && topo.server_cores > 1) host->set_core_count(static_cast<int>(topo.server_cores));
    host->seal();
    zone->add_route(host->get_netpoint(), nullptr, nullptr, nullptr, in_route(h.to_center), false);
    zone->add_route(nullptr, host->get_netpoint(), nullptr, nullptr, in_route(h.from_center), false);
    hosts.push_back(host);
  }
  zone->seal();
  return hosts;
}

}  // namespace splitsim
