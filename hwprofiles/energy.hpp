// Energy: what a device draws while it computes, idles and uses its radio, and what a server draws, from the
// power figures of its profiles (hw_profile.hpp: PowerProfile, RadioProfile). Every simulator mode and the
// analytic screen account energy through these functions.
#pragma once
#include <limits>

#include <vector>

#include "core/metrics.hpp"
#include "hwprofiles/hw_profile.hpp"
#include "hwprofiles/system.hpp"

namespace splitsim {

// The radio's state between transfers: until when it is busy (-inf: it starts idle).
struct RadioState {
  double busy_until = -std::numeric_limits<double>::infinity();
};

// The energy a transfer costs the radio, split between the request the transfer belongs to (`now`: the
// transfer itself, a promotion out of idle before it) and the request whose last transfer left the tail the
// radio sat in until this one (`before`: tail power over the gap, at most the tail time).
struct RadioCharge {
  double now = 0, before = 0;
};

// A transfer of `bytes` from `start` to `end` (s). Transfers arrive in order of start; overlapping ones are
// charged once for the time the radio is on. Powers are above the device's idle power.
RadioCharge charge_transfer(const RadioProfile& r, RadioState& s, double start, double end, double bytes, bool up);
// The tail the last transfer leaves (the radio's energy after it until idle), charged to its request.
double final_tail(const RadioProfile& r);

// A request as the analytic screen sees it, for its energy without a timeline: its latency, the device's
// compute (all of it, and the part before the first transfer), its transfers (count, total time, bytes), and
// the idle gap after it before the device's next request (infinite: none follows).
struct RequestShape {
  double e2e = 0, compute = 0, first_compute = 0;
  double transfers = 0, transfer_time = 0, up_bytes = 0, down_bytes = 0;
  double gap_after = std::numeric_limits<double>::infinity();
};
// The request's device energy with its transfers' gaps spread evenly between them: what charge_transfer and
// device_energy give a timeline whose gaps are all equal (the simulator charges the real gaps).
double estimate_request_energy(const PowerProfile& p, const RadioProfile* r, const RequestShape& q);

// A device's energy over `span` s awake, of which `compute` s computing, plus what its radio used.
double device_energy(const PowerProfile& p, double span, double compute, double radio);
// A server's energy over `span` s, busy `busy` s (board power: idle, plus the active surplus while busy).
double server_energy(const PowerProfile& p, double span, double busy);

// A run's energy over its span (J; NaN where a profile has no power figures), the same in every engine: every
// device idles through the span and its requests add their energy above idle (edge_energy - idle x e2e); the
// battery hours of the first device group to run flat at its mean power; the pool idles and adds its active surplus
// while busy (`busy`: s per server, in the pool's order, group by group).
struct RunEnergy {
  double edge = 0, battery_hours = 0, server = 0;
};
RunEnergy run_energy(const System& sys, double span, const std::vector<RequestRecord>& requests,
                     const std::vector<double>& busy);

}  // namespace splitsim
