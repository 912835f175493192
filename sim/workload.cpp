// Workload sampling: per-device seeded request streams (arrival times, prompt and output lengths).
//
// Inverse-CDF samplers keep results identical across standard libraries: exponential -log(U)/rate, uniform
// integers by floor(U * n), lognormal lengths exp(mu + sigma * Phi^-1(U)) rounded and clipped to [min, max].
// Phi^-1 is Acklam's rational approximation refined by one Halley step on erfc (|error| < 1e-15).
#include "sim/workload.hpp"

#include <algorithm>
#include <cmath>

namespace splitsim {

double Rng::uniform() { return static_cast<double>(gen_() >> 11) * 0x1.0p-53; }

double Rng::uniform_open() {
  double u;
  do u = uniform();
  while (u == 0.0);
  return u;
}

double Rng::exponential(double rate) { return -std::log(uniform_open()) / rate; }

double Rng::normal() { return inverse_normal_cdf(uniform_open()); }

int64_t Rng::uniform_int(int64_t lo, int64_t hi) {
  const double n = static_cast<double>(hi - lo + 1);
  return std::min(hi, lo + static_cast<int64_t>(std::floor(uniform() * n)));
}

uint64_t device_seed(uint64_t scenario_seed, int64_t device) {
  uint64_t z = scenario_seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(device) + 0x632BE59BD9B4E019ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double inverse_normal_cdf(double p) {
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                             1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01,  -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                             3.754408661907416e+00};
  const double lo = 0.02425, hi = 1 - lo;
  double x;
  if (p < lo) {
    double q = std::sqrt(-2 * std::log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= hi) {
    double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    double q = std::sqrt(-2 * std::log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
        ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  // One Halley step against the exact CDF 0.5 * erfc(-x / sqrt(2)).
  double e = 0.5 * std::erfc(-x / std::sqrt(2.0)) - p;
  double u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
  return x - u / (1 + x * u / 2);
}

int64_t sample_length(Rng& rng, const LengthDist& d) {
  if (d.kind == "fixed") return d.value;
  if (d.kind == "uniform") return rng.uniform_int(d.min, d.max);
  double v = std::round(std::exp(d.mu + d.sigma * rng.normal()));
  return std::clamp(static_cast<int64_t>(std::min(v, 1e15)), d.min, d.max);
}

std::vector<RequestSpec> device_requests(const Workload& w, uint64_t scenario_seed, int64_t device) {
  Rng rng(device_seed(scenario_seed, device));
  std::vector<RequestSpec> out(static_cast<size_t>(w.requests_per_device));
  double t = 0;
  for (size_t r = 0; r < out.size(); ++r) {
    if (w.arrival == "poisson") {
      t += rng.exponential(w.rate);
      out[r].arrival = t;
    } else if (r == 0) {
      out[r].arrival = w.think_time > 0 ? rng.uniform() * w.think_time : 0.0;
    }
    out[r].prompt = sample_length(rng, w.prompt_tokens);
    out[r].output = sample_length(rng, w.output_tokens);
  }
  return out;
}

namespace {

FleetRequests trace_requests(const Workload& w, uint64_t scenario_seed, int64_t devices) {
  const TraceReplay& t = w.trace;
  const auto& reqs = t.selected.requests;
  Rng rng(device_seed(scenario_seed, -1));  // the assignment's own stream, apart from every device's
  double keep = 1;
  if (t.device_map == "thin" && t.selected.span > 0)
    keep = std::min(1.0, static_cast<double>(devices) * w.rate * t.selected.span / static_cast<double>(reqs.size()));
  std::vector<int64_t> owner(reqs.size(), -1);
  std::vector<size_t> per_device(static_cast<size_t>(devices), 0);
  for (size_t i = 0; i < reqs.size(); ++i) {
    int64_t d = -1;
    if (reqs[i].device >= 0)
      d = reqs[i].device % devices;
    else if (t.device_map == "round-robin")
      d = static_cast<int64_t>(i % static_cast<size_t>(devices));
    else if (t.device_map == "random" || rng.uniform() < keep)
      d = rng.uniform_int(0, devices - 1);
    owner[i] = d;
    if (d >= 0) ++per_device[static_cast<size_t>(d)];
  }
  FleetRequests f;
  f.first.assign(static_cast<size_t>(devices) + 1, 0);
  for (int64_t d = 0; d < devices; ++d) f.first[static_cast<size_t>(d) + 1] = f.first[static_cast<size_t>(d)] + per_device[static_cast<size_t>(d)];
  f.specs.resize(f.first.back());
  std::vector<size_t> next(f.first.begin(), f.first.end() - 1);
  for (size_t i = 0; i < reqs.size(); ++i)
    if (owner[i] >= 0) f.specs[next[static_cast<size_t>(owner[i])]++] = {reqs[i].arrival, reqs[i].prompt, reqs[i].output};
  return f;
}

}  // namespace

FleetRequests fleet_requests(const Workload& w, uint64_t scenario_seed, int64_t devices) {
  if (w.arrival == "trace") return trace_requests(w, scenario_seed, devices);
  FleetRequests f;
  f.specs.reserve(static_cast<size_t>(devices * w.requests_per_device));
  f.first.push_back(0);
  for (int64_t d = 0; d < devices; ++d) {
    const auto mine = device_requests(w, scenario_seed, d);
    f.specs.insert(f.specs.end(), mine.begin(), mine.end());
    f.first.push_back(f.specs.size());
  }
  return f;
}

double request_arrival(const Workload& w, const RequestSpec& s, size_t r, double previous_end) {
  if (w.open_loop() || r == 0) return s.arrival;
  return previous_end + w.think_time;
}

}  // namespace splitsim
