// The analytic fleet model: N devices sharing one server, in closed form on top of the cost model.
//
// CostModel::estimate() is one device alone. With N devices the server runs continuous batching: one decode
// iteration serves every sequence whose next input is waiting, and costs server_step(b, sum of contexts).
// Two arrival regimes:
//  - closed loop (identical devices start together and stay in lockstep): the active sequences form
//    k = ceil(n / cap) cohorts of b = n / k (cap = min(max_batch, sequences the server's KV memory holds));
//    a token cycle is max(local + S(b), k * S(b)): the device's own work (edge layers, codec, links) overlaps
//    the other cohorts' iterations, and the server is the bottleneck once k * S(b) exceeds it;
//  - Poisson arrivals: n = N * rate * E2E active sequences (Little's law, solved by fixed point), and a token
//    also waits for the iteration in progress, rho * S / 2 on average (M/D/1-style residual service). A device
//    runs one request at a time, so a request that arrives while its device is busy waits for it: each device
//    is an M/D/1 queue whose service time is its request's end-to-end latency (fleet_model.cpp says why).
// Prefills: with no think time every prompt leaves at t = 0 and reaches the server in waves (one per group and
// cell size), each served in batches of up to cap as one pass over their tokens; a dephased closed loop
// (think time > 0) and Poisson arrivals wait for the iteration in progress (fleet_model.cpp says why).
// Shared cells (K devices behind one access point) stretch the transfers: in lockstep a step's K flows
// go together (latency + K x bytes / rate, and the cell's busy time bounds the cycle); under Poisson each
// cell link is an M/G/1 processor-sharing queue (fleet_model.cpp says why each). Private links are untouched.
// Admission is CostModel::kv_reservation, the simulator's and the executor's rule: a request reserves the KV of
// its prompt + output tokens. In a closed loop the sequences beyond what the KV memory holds wait for admission
// in waves (fleet_model.cpp, admission_wait); sequences beyond max_batch but within the KV memory time-share the
// server's iterations (cohorts above). Under Poisson arrivals the KV limit is modelled as time-sharing too (the
// simulator queues instead: same mean end-to-end latency, different TTFT/TPOT split). This is a screen; the
// simulator is the reference, and the optimizer re-ranks its best candidates there.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "hwprofiles/cost_model.hpp"
#include "hwprofiles/energy.hpp"

namespace splitsim {

struct FleetGroupEstimate {
  double devices = 0;      // in the group
  Estimate alone;          // the device by itself (cost model)
  double ttft = 0, tpot = 0, e2e = 0;  // s, with the other devices
  StageTimes per_request;  // s per request by stage (server_compute includes the batch's share of iterations)
  double server_queue = 0; // s per request waiting for the server
  double device_queue = 0; // s per request waiting for its device's previous request (Poisson; in ttft and e2e)
};

struct FleetEstimate {
  int64_t devices = 0;
  int64_t prompt_tokens = 0, output_tokens = 0;
  double active = 0;       // mean sequences in flight
  int64_t capacity = 0;    // sequences the server batches at once
  double batch = 0;        // mean decode batch per iteration
  double step = 0;         // s per batched decode iteration
  double utilization = 0;  // fraction of time the server computes
  double throughput = 0;   // generated tokens per second, all devices
  double server_busy_per_token = 0;  // s of server compute per generated token
  double span = 0;         // s from the first arrival to the last completion (closed loop: whole run)
  double uplink_utilization = 0;
  double edge_energy_per_token = 0;  // J of device energy per generated token (NaN: no power figures)
  bool infeasible = false;
  std::string reason;      // why infeasible ("edge out of memory: ...")
  std::vector<FleetGroupEstimate> groups;

  // Device-count weighted means over groups.
  double mean_ttft() const;
  double mean_tpot() const;
  double mean_e2e() const;
  double device_mean(double FleetGroupEstimate::*field) const;
};

FleetEstimate estimate_fleet(const CostModel& cm);

// A group's mean request as energy sees it (hwprofiles/energy.hpp), from its estimate.
RequestShape request_shape(const System& sys, const FleetGroupEstimate& ge);

}  // namespace splitsim
