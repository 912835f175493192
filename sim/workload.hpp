// Workload sources: when each device issues its requests and how long their prompts and outputs are.
//
// Every device draws from its own seeded stream (the scenario seed mixed with the device index), so a device's
// requests do not depend on the simulation's event order or on the other devices. The samplers are written
// here as inverse CDFs over 53-bit uniforms from std::mt19937_64 (whose output the standard fixes), not with
// std::*_distribution, whose output differs between standard libraries.
#pragma once
#include <cstdint>
#include <random>
#include <vector>

#include "core/scenario.hpp"

namespace splitsim {

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  double uniform();                        // [0, 1)
  double uniform_open();                   // (0, 1)
  double exponential(double rate);         // mean 1/rate
  double normal();                         // standard normal by inverse CDF
  int64_t uniform_int(int64_t lo, int64_t hi);  // inclusive
 private:
  std::mt19937_64 gen_;
};

uint64_t device_seed(uint64_t scenario_seed, int64_t device);  // SplitMix64 of both
double inverse_normal_cdf(double p);                            // p in (0, 1)
int64_t sample_length(Rng& rng, const LengthDist& d);

struct RequestSpec {
  double arrival = 0;  // poisson: absolute s; closed: the first request's start offset, later ones unused
  int64_t prompt = 0;
  int64_t output = 0;
};

// All requests of one device, in order. Closed loop: the first request starts at a uniform offset in
// [0, think_time) (so a fleet does not start in lock step) and each next one think_time after the previous
// completes. Poisson: arrivals at the per-device rate from t = 0.
std::vector<RequestSpec> device_requests(const Workload& w, uint64_t scenario_seed, int64_t device);

// Every device's requests, drawn once: device d's are specs[first[d]] .. specs[first[d + 1] - 1], in order.
struct FleetRequests {
  std::vector<RequestSpec> specs;
  std::vector<size_t> first;  // devices + 1 offsets
  size_t count(int64_t d) const { return first[static_cast<size_t>(d) + 1] - first[static_cast<size_t>(d)]; }
  size_t index(int64_t d, size_t r) const { return first[static_cast<size_t>(d)] + r; }
  const RequestSpec& at(int64_t d, size_t r) const { return specs[index(d, r)]; }
};
// Closed loop and Poisson: requests_per_device each. Trace: the scenario's selected requests (arrival, prompt,
// output), each given to a device by workload.trace.device_map (the trace's own device column, modulo the fleet,
// when it has one): round-robin in trace order, random (seeded), or thin (each kept with the probability that
// brings the fleet's rate to devices x workload.rate, then random).
FleetRequests fleet_requests(const Workload& w, uint64_t scenario_seed, int64_t devices);

// When request r of a device arrives. Poisson: its drawn time. Closed loop: the first at its drawn offset, each
// next one think_time after the previous one ended (`previous_end`; a request that could not run ends at its
// arrival).
double request_arrival(const Workload& w, const RequestSpec& s, size_t r, double previous_end);

}  // namespace splitsim
