// The analytic fleet model: closed-form latency and server load of N devices sharing one continuously
// batching server (see fleet_model.hpp for the two arrival regimes and their assumptions).
#include "explorer/fleet_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/units.hpp"

namespace splitsim {
namespace {

// The part of a decode step the device spends away from the server: edge layers, encode, both links.
double local_step(const Plan& p, const StageTimes& d) {
  if (p.wire == WireFormat::token_ids) return 0;  // cloud-only: the server streams tokens on its own
  return d.edge_compute + d.encode + d.uplink + d.downlink;
}

}  // namespace

double FleetEstimate::mean_ttft() const {
  double s = 0, n = 0;
  for (const auto& g : groups) s += g.ttft, n += 1;
  return n > 0 ? s / n : 0;
}
double FleetEstimate::mean_tpot() const {
  double s = 0, n = 0;
  for (const auto& g : groups) s += g.tpot, n += 1;
  return n > 0 ? s / n : 0;
}
double FleetEstimate::mean_e2e() const {
  double s = 0, n = 0;
  for (const auto& g : groups) s += g.e2e, n += 1;
  return n > 0 ? s / n : 0;
}

FleetEstimate estimate_fleet(const CostModel& cm) {
  const System& sys = cm.system();
  const Scenario& sc = sys.scenario;
  const Plan& plan = sys.plan;
  FleetEstimate f;
  f.devices = sc.device_count();
  f.prompt_tokens = std::max<int64_t>(1, std::llround(sc.workload.prompt_tokens.mean()));
  f.output_tokens = std::max<int64_t>(1, std::llround(sc.workload.output_tokens.mean()));
  const int64_t P = f.prompt_tokens, K = f.output_tokens;
  const double steps = static_cast<double>(K - 1);
  const double N = static_cast<double>(f.devices);
  const double rpd = static_cast<double>(sc.workload.requests_per_device);

  double local_mean = 0;
  for (size_t g = 0; g < sys.fleet.size(); ++g) {
    FleetGroupEstimate ge;
    ge.alone = cm.estimate(g, P, K);
    if (ge.alone.edge_memory.oom() && !f.infeasible) {
      f.infeasible = true;
      f.reason = fmt::format("edge out of memory: {} needs {} of {}", sys.fleet[g].device.name,
                             format_bytes(ge.alone.edge_memory.total()), format_bytes(ge.alone.edge_memory.capacity));
    }
    local_mean += static_cast<double>(sys.fleet[g].group.count) / N * local_step(plan, ge.alone.decode_mean);
    f.groups.push_back(ge);
  }

  // Edge-only: no server, every device alone.
  if (!plan.server_has_head) {
    for (auto& ge : f.groups) {
      ge.ttft = ge.alone.ttft, ge.tpot = ge.alone.tpot, ge.e2e = ge.alone.e2e;
      ge.per_request = ge.alone.prefill;
      ge.per_request += ge.alone.decode_mean.scaled(steps);
    }
    double e2e = 0;
    for (const auto& ge : f.groups) e2e = std::max(e2e, ge.e2e);
    f.span = rpd * e2e + (rpd - 1) * sc.workload.think_time;
    f.throughput = f.span > 0 ? N * rpd * static_cast<double>(K) / f.span : 0;
    return f;
  }

  // A server that holds no layers (split after the last one) keeps no KV cache: only max_batch limits it.
  const int64_t seqs = cm.server_kv_bytes_per_token() <= 0 ? sc.server.max_batch
                       : f.groups.empty()                  ? 0
                                                           : f.groups[0].alone.server_max_sequences;
  f.capacity = std::min<int64_t>(sc.server.max_batch, seqs);
  if (f.capacity < 1) {
    if (!f.infeasible)
      f.reason = fmt::format("server out of memory: {} weights leave no room for one {}-token KV cache on {}",
                             format_bytes(cm.server_weight_bytes()), sc.workload.max_seq_len, sys.server.name);
    f.infeasible = true;
    f.capacity = 1;
  }
  const double cap = static_cast<double>(f.capacity);
  const double ctx = static_cast<double>(P) + 0.5 * static_cast<double>(K);  // mean context of a decode step
  const bool splits = plan.wire != WireFormat::token_ids;
  const double codec_decode_step = splits ? cm.server_decode_codec(1) : 0.0;
  const double prefill_work = cm.server_prefill(P) + (splits ? cm.server_decode_codec(P) : 0.0);
  auto iteration = [&](double b) {
    int64_t bi = std::max<int64_t>(1, std::llround(std::ceil(b - 1e-9)));
    return cm.server_step(bi, static_cast<double>(bi) * ctx) + static_cast<double>(bi) * codec_decode_step;
  };

  double n = N, rho = 0, prefill_wait = 0, tok = 0;
  double k = 1, b = 1, S = 0;
  if (sc.workload.arrival == "closed") {
    // Lockstep cohorts; every device's prefill arrives at once and is served first come first served.
    k = std::ceil(n / cap);
    b = std::ceil(n / k);
    S = iteration(b);
    tok = std::max(local_mean + S, k * S);
    prefill_wait = prefill_work * (n - 1) / 2;
  } else {
    // Poisson: fixed point on the number of sequences in flight.
    const double lambda = sc.workload.rate * N;  // requests per second, all devices
    double e2e = f.groups.empty() ? 0 : f.groups[0].alone.e2e;
    n = std::clamp(lambda * e2e, 1.0, N);
    for (int it = 0; it < 100; ++it) {
      k = std::ceil(n / cap);
      b = std::max(1.0, std::ceil(n / k));
      S = iteration(b);
      rho = std::min(0.99, lambda * (prefill_work + steps * S / b));
      tok = std::max(local_mean + S + rho * S / 2, k * S);
      prefill_wait = rho / (1 - rho) * prefill_work / 2;
      double ttft = (f.groups.empty() ? 0 : f.groups[0].alone.ttft) + prefill_wait;
      e2e = ttft + steps * tok;
      double n_new = std::clamp(lambda * e2e, 1.0, N);
      if (std::abs(n_new - n) < 1e-9 * n) break;
      n = 0.5 * (n + n_new);
    }
  }
  f.active = n;
  f.batch = b;
  f.step = S;

  double e2e_max = 0, ttft_max = 0, bytes_up = 0;
  for (size_t g = 0; g < f.groups.size(); ++g) {
    auto& ge = f.groups[g];
    const Estimate& a = ge.alone;
    const double local = local_step(plan, a.decode_mean);
    ge.tpot = K > 1 ? std::max(local + S + rho * S / 2, k * S) : 0;
    ge.ttft = a.ttft + prefill_wait;
    ge.e2e = ge.ttft + steps * ge.tpot;
    ge.per_request = a.prefill;
    StageTimes d = a.decode_mean;
    d.server_compute = S - static_cast<double>(std::llround(std::ceil(b - 1e-9))) * codec_decode_step;
    d.server_decode = codec_decode_step;
    ge.per_request += d.scaled(steps);
    ge.server_queue = prefill_wait + steps * std::max(0.0, ge.tpot - (splits ? local : 0.0) - S);
    e2e_max = std::max(e2e_max, ge.e2e);
    ttft_max = std::max(ttft_max, a.ttft + prefill_work * (n - 1));
    const double count = static_cast<double>(sys.fleet[g].group.count);
    const auto& link = sys.fleet[g].link;
    bytes_up += count * a.bytes_up_total / std::min(link.uplink.value, sys.backbone.uplink.value);
  }

  const double requests = N * rpd;
  const double busy = requests * (prefill_work + steps * S / b);
  if (sc.workload.arrival == "closed") {
    // The last request of a run starts after the last prefill in the queue.
    f.span = rpd * std::max(e2e_max, ttft_max + steps * tok) + (rpd - 1) * sc.workload.think_time;
  } else {
    f.span = rpd / std::max(sc.workload.rate, 1e-300) + e2e_max;
  }
  f.utilization = f.span > 0 ? std::min(1.0, busy / f.span) : 0;
  f.throughput = f.span > 0 ? requests * static_cast<double>(K) / f.span : 0;
  f.server_busy_per_token = busy / (requests * static_cast<double>(K));
  f.uplink_utilization = f.span > 0 ? bytes_up * rpd / (N * f.span) : 0;
  return f;
}

}  // namespace splitsim
