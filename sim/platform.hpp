// The one thin layer that talks to SimGrid's platform API: engine configuration and the star-shaped platform
// built from a Topology.
#pragma once
#include <cstdint>
#include <vector>

#include "sim/topology.hpp"

namespace simgrid::s4u {
class Engine;
class Host;
}  // namespace simgrid::s4u

namespace splitsim {

// Bytes and bandwidths inside SimGrid are scaled by 2^20: SimGrid takes whole bytes, the wire format's expected
// sizes may be fractional, and a power-of-two scale keeps bytes / bandwidth bit-exact.
inline constexpr double kSimByteScale = 1048576.0;
uint64_t sim_payload(double bytes);

// Network model CM02 with every correction neutralized (latency and bandwidth factors 1, no cross traffic,
// no TCP window bound, flows share by route latency only), so that an uncontended transfer takes exactly
// latency + bytes / bandwidth. reference: the full solver at every event (slow, for the full mode).
// Call before the platform is built.
void configure_engine(size_t actors, bool reference = false);

// Creates hosts and links; returns the SimGrid host of every Topology host (index 0: the server).
std::vector<simgrid::s4u::Host*> build_platform(const Topology& topo);

}  // namespace splitsim
