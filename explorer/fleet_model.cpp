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

// ---- Shared cells ----------------------------------------------------------------------------------------
// K devices behind one access point share its uplink and downlink (max-min fair in the simulator: equal
// flows on one link get rate / flows each). Private links (cell_size 0) take none of this path.
//
// Closed loop (lockstep): the server's batched iteration ends for a whole cohort at once, so a cell's
// devices of one cohort receive their tokens together, run the same edge step and send their activations
// together: m = ceil(K / cohorts) equal flows, each at rate / m, so a step's transfer takes latency + m * bytes
// / rate. The prompts all leave together at the start (m = K). A cycle can also not be shorter than the time
// the cell's link is busy with all K devices' bytes of one step; that bound joins the server's k * S.
// No fixed point is needed: who transfers together follows from the cohorts, not from the cycle time.
//
// Poisson: requests start at random times and stay out of phase: the simulator's server runs batches of one
// or two at moderate load (20 devices at 0.2-0.8 requests/s: mean batch 1.03-2.1), so continuous batching does
// not realign them, and a cell's flows meet at random. Each link is then an M/G/1 processor-sharing queue:
// a flow of x bytes takes (x / rate) / (1 - rho) on average whatever the size distribution. A device's own
// flows never overlap (one request at a time, one transfer per step), so what a flow meets is the load of the
// other K - 1 devices (the arrival theorem of finite-source queues): rho = (K - 1) x requests/s x bytes per
// request / rate, and a cell of one is a private link. The arrival rate fixes rho, not the cycle time; the
// cycle time still depends on these delays through the sequences in flight, and the server's fixed point
// below iterates both.
struct CellClass {
  double size = 1;      // devices per cell
  double devices = 1;   // fraction of the group's devices in cells of this size
};

// A group's cells come in at most two sizes: the full cells and the remainder.
std::vector<CellClass> cell_classes(const DeviceGroup& g) {
  if (g.cell_size <= 0) return {CellClass{}};
  const int64_t full = g.count / g.cell_size, rest = g.count % g.cell_size;
  const double n = static_cast<double>(g.count);
  std::vector<CellClass> c;
  if (full > 0) c.push_back({static_cast<double>(g.cell_size), static_cast<double>(full * g.cell_size) / n});
  if (rest > 0) c.push_back({static_cast<double>(rest), static_cast<double>(rest) / n});
  return c;
}

struct Regime {
  bool poisson = false;
  double cohorts = 1;  // closed loop: cohorts of the lockstep batch
  double rate = 0;     // Poisson: requests per second per device
};

// What sharing a cell adds to one device's transfers (s), by direction, beyond the cost model's alone times.
struct CellDelay {
  double up_step = 0, down_step = 0;      // per decode step
  double up_prompt = 0, down_prompt = 0;  // to the first token
  double busy = 0;                        // s per token cycle the busier cell link carries (lower bound on it)
};

CellDelay cell_delay(const System& sys, size_t g, const Estimate& a, double size, const Regime& r) {
  CellDelay d;
  if (sys.fleet[g].group.cell_size <= 0) return d;
  const auto& link = sys.fleet[g].link;
  // A traced link at its time-average rate (the screen has no clock).
  const double ru = link.uplink.value / (link.trace ? link.trace->mean_inverse(true) : 1.0),
               rd = link.downlink.value / (link.trace ? link.trace->mean_inverse(false) : 1.0);
  const double alone_u = std::min(ru, sys.backbone.uplink.value), alone_d = std::min(rd, sys.backbone.downlink.value);
  // s beyond the alone time when a flow of `bytes` gets `rate` instead of the uncontended route's `alone`.
  auto extra = [](double bytes, double alone, double rate) { return bytes * (1 / std::min(rate, alone) - 1 / alone); };
  constexpr double kRhoMax = 0.99;  // as the server's: an overloaded cell stays finite, and far behind
  if (!r.poisson) {
    const double m = std::ceil(size / r.cohorts - 1e-9);
    d.up_step = extra(a.bytes_up_per_token, alone_u, ru / m);
    d.down_step = extra(a.bytes_down_per_token, alone_d, rd / m);
    d.up_prompt = extra(a.bytes_up_prefill, alone_u, ru / size);
    d.down_prompt = extra(a.bytes_down_per_token, alone_d, rd / size);
    d.busy = size * std::max(a.bytes_up_per_token / ru, a.bytes_down_per_token / rd);
  } else {
    const double rho_up = std::min(kRhoMax, (size - 1) * r.rate * a.bytes_up_total / ru);
    const double rho_down = std::min(kRhoMax, (size - 1) * r.rate * a.bytes_down_total / rd);
    d.up_step = extra(a.bytes_up_per_token, alone_u, ru * (1 - rho_up));
    d.down_step = extra(a.bytes_down_per_token, alone_d, rd * (1 - rho_down));
    d.up_prompt = extra(a.bytes_up_prefill, alone_u, ru * (1 - rho_up));
    d.down_prompt = d.down_step;
  }
  return d;
}

// ---- The prefill queue -------------------------------------------------------------------------------
// What a request's first token waits for at the server beyond its own prefill alone (s), by group: the mean
// over the group's devices and the last of them (which bounds a closed-loop run's span).
struct PrefillWaits {
  std::vector<double> mean_, last_;
  double mean(size_t g) const { return mean_[g]; }
  double last(size_t g) const { return last_[g]; }
  static PrefillWaits uniform(size_t groups, double wait) {
    return {std::vector<double>(groups, wait), std::vector<double>(groups, wait)};
  }
};

// Closed loop without think time: every device sends its prompt at t = 0. A prompt reaches the server after
// its edge layers, encode and upload, stretched by its cell (the K prompts of a cell leave together), so
// prefills arrive in waves, one per (group, cell size). The simulator's server takes up to cap waiting items
// per iteration and costs the prefills of one iteration as one pass over their summed tokens
// (CostModel::server_iteration), so a wave of w prefills is served in q = ceil(w / cap) iterations of
// m = ceil(w / q), the j-th ending j * T(m) after the wave starts, and the wave starts when it has arrived
// and the server has finished the waves before it. Waves that arrive while the server is busy join the next
// one. The upload of a late cell thus overlaps the server's work on earlier ones instead of adding to it.
// Decode steps of earlier waves are left out: they queue behind the prefills that were waiting first.
PrefillWaits batched_prefills(const CostModel& cm, const std::vector<FleetGroupEstimate>& groups, int64_t cap,
                              const Regime& lockstep, double admitted_share) {
  const System& sys = cm.system();
  const int64_t P = std::max<int64_t>(1, std::llround(sys.scenario.workload.prompt_tokens.mean()));
  const double codec = sys.plan.wire != WireFormat::token_ids ? cm.server_decode_codec(P) : 0.0;
  auto pass = [&](int64_t m) {  // s, one iteration of m prefills
    return cm.server_iteration(std::vector<int64_t>(static_cast<size_t>(m), P), 0, 0) + static_cast<double>(m) * codec;
  };
  const double alone = pass(1);  // already in the device's own TTFT
  struct Wave {
    size_t group;
    double devices, arrival;  // devices of this (group, cell size), s from the start to the server
  };
  std::vector<Wave> w;
  for (size_t g = 0; g < groups.size(); ++g) {
    const Estimate& a = groups[g].alone;
    const double before = a.prefill.edge_compute + a.prefill.encode + a.prefill.uplink;
    for (const CellClass& c : cell_classes(sys.fleet[g].group)) {
      const double up = cell_delay(sys, g, a, c.size, lockstep).up_prompt;
      w.push_back({g, admitted_share * c.devices * static_cast<double>(sys.fleet[g].group.count), before + up});
    }
  }
  std::stable_sort(w.begin(), w.end(), [](const Wave& x, const Wave& y) { return x.arrival < y.arrival; });
  PrefillWaits r = PrefillWaits::uniform(groups.size(), 0);
  std::vector<double> weight(groups.size(), 0);
  double free_at = 0;  // s, when the server has served every wave so far
  for (size_t i = 0; i < w.size();) {
    const double start = std::max(w[i].arrival, free_at);
    size_t j = i;
    double count = 0;
    for (; j < w.size() && w[j].arrival <= start; ++j) count += w[j].devices;
    const double q = std::ceil(count / static_cast<double>(cap) - 1e-9);
    const double T = pass(std::max<int64_t>(1, std::llround(std::ceil(count / q - 1e-9))));
    for (size_t x = i; x < j; ++x) {
      const size_t g = w[x].group;
      const double queued = start - w[x].arrival - alone;
      r.mean_[g] += w[x].devices * (queued + (q + 1) / 2 * T);
      r.last_[g] = std::max(r.last_[g], queued + q * T);
      weight[g] += w[x].devices;
    }
    free_at = start + q * T;
    i = j;
  }
  for (size_t g = 0; g < groups.size(); ++g) r.mean_[g] = weight[g] > 0 ? r.mean_[g] / weight[g] : 0;
  return r;
}

// ---- Waiting for admission (closed loop) -------------------------------------------------------------
// N devices, room for N / k requests' KV at once. A request takes T from arrival to its last token and holds
// its reservation for H of it (from its prompt's arrival at the server to its last token there, so H < T).
// Without think time the first requests are admitted in k waves, H apart (wave j takes T + j H); a later request
// arrives when its device's previous one ends and waits for the k - 1 waves queued before it, so it takes
// max(T, k H). Over m requests per device the mean is (T + (k - 1) H / 2 + (m - 1) max(T, k H)) / m. With think
// time Z the devices are dephased and the closed loop's response-time law gives max(T, k H - Z) (the reservations
// are the bottleneck). Returns the mean wait beyond T.
double admission_wait(double k, double T, double H, double requests_per_device, double think_time) {
  const double m = std::max(1.0, requests_per_device);
  const double total = think_time > 0 ? std::max(T, k * H - think_time)
                                      : (T + (k - 1) * H / 2 + (m - 1) * std::max(T, k * H)) / m;
  return std::max(0.0, total - T);
}

// ---- The device's own queue (Poisson) ----------------------------------------------------------------
// A device runs one request at a time (the simulator's device actor sleeps until the next arrival only when it
// is idle), and TTFT counts from the arrival, so a Poisson request that arrives while its device is still busy
// waits for it. Each device is then a single-server queue with Poisson arrivals at `rate` and service time
// `service` = its request's end-to-end latency, which is deterministic for fixed lengths (the model evaluates
// every request at the mean lengths, so with length distributions this undercounts by the service time's
// variance: Pollaczek-Khinchine's E[S^2] / E[S]^2 factor is taken as 1). M/D/1: rho * S / (2 (1 - rho)), with
// rho capped as the server's. A device starts empty: its first request never waits, and the later ones are
// taken as stationary (the queue relaxes within a request or two at light load; at rho near 1 this is high).
// With one request per device there is no wait at all.
double device_wait(double rate, double service, double requests_per_device) {
  if (requests_per_device <= 1 || rate <= 0) return 0;
  const double rho = std::min(0.99, rate * service);
  return (requests_per_device - 1) / requests_per_device * rho * service / (2 * (1 - rho));
}

}  // namespace

double FleetEstimate::device_mean(double FleetGroupEstimate::*field) const {
  double s = 0, n = 0;
  for (const auto& g : groups) s += g.devices * (g.*field), n += g.devices;
  return n > 0 ? s / n : 0;
}
double FleetEstimate::mean_ttft() const { return device_mean(&FleetGroupEstimate::ttft); }
double FleetEstimate::mean_tpot() const { return device_mean(&FleetGroupEstimate::tpot); }
double FleetEstimate::mean_e2e() const { return device_mean(&FleetGroupEstimate::e2e); }

namespace {

// estimate_fleet's steps, sharing the quantities they derive (the order of the steps is the order of the run()).
class FleetSolver {
 public:
  explicit FleetSolver(const CostModel& cm)
      : cm_(cm), sys_(cm.system()), sc_(sys_.scenario), plan_(sys_.plan) {
    f_.devices = sc_.device_count();
    f_.prompt_tokens = std::max<int64_t>(1, std::llround(sc_.workload.prompt_tokens.mean()));
    f_.output_tokens = std::max<int64_t>(1, std::llround(sc_.workload.output_tokens.mean()));
    P_ = f_.prompt_tokens, K_ = f_.output_tokens;
    steps_ = static_cast<double>(K_ - 1);
    N_ = static_cast<double>(f_.devices);
    rpd_ = static_cast<double>(sc_.workload.requests_per_device);
    rate_ = sc_.workload.rate;
    if (sc_.workload.arrival == "trace") {
      // A replayed trace as Poisson arrivals at its mean rate, spread over the fleet (thinned as the simulator
      // thins it), at its mean lengths (f_.prompt_tokens above).
      const TraceSelection& t = sc_.workload.trace.selected;
      const double n = static_cast<double>(t.requests.size()), span = std::max(t.span, 1e-9);
      rate_ = n / span / N_;
      if (sc_.workload.trace.device_map == "thin") rate_ = std::min(rate_, sc_.workload.rate);
      rpd_ = std::max(1.0, rate_ * span);
    }
  }

  FleetEstimate run() {
    alone();
    if (!plan_.server_has_head) {
      edge_only();
      return f_;
    }
    capacity();
    if (closed_)
      closed_loop();
    else
      poisson();
    f_.active = n_;
    f_.batch = b_;
    f_.step = S_;
    groups();
    totals();
    return f_;
  }

 private:
  // Each group's device alone (the cost model), and whether its edge memory holds the configuration.
  void alone() {
    for (size_t g = 0; g < sys_.fleet.size(); ++g) {
      FleetGroupEstimate ge;
      ge.devices = static_cast<double>(sys_.fleet[g].group.count);
      ge.alone = cm_.estimate(g, P_, K_);
      if (ge.alone.edge_memory.oom() && !f_.infeasible) {
        f_.infeasible = true;
        f_.reason = fmt::format("edge out of memory: {} needs {} of {}", sys_.fleet[g].device.name,
                                format_bytes(ge.alone.edge_memory.total()), format_bytes(ge.alone.edge_memory.capacity));
      }
      f_.groups.push_back(ge);
    }
  }

  // Edge-only: no server, every device alone.
  void edge_only() {
    for (auto& ge : f_.groups) {
      ge.ttft = ge.alone.ttft, ge.tpot = ge.alone.tpot, ge.e2e = ge.alone.e2e;
      if (sc_.workload.open_loop()) {
        ge.device_queue = device_wait(rate_, ge.e2e, rpd_);
        ge.ttft += ge.device_queue, ge.e2e += ge.device_queue;
      }
      ge.per_request = ge.alone.prefill;
      ge.per_request += ge.alone.decode_mean.scaled(steps_);
    }
    double e2e = 0;
    for (const auto& ge : f_.groups) e2e = std::max(e2e, ge.e2e);
    f_.span = rpd_ * e2e + (rpd_ - 1) * sc_.workload.think_time;
    f_.throughput = f_.span > 0 ? N_ * rpd_ * static_cast<double>(K_) / f_.span : 0;
  }

  // The sequences the server batches at once, and (admission, CostModel::kv_reservation) how many a closed
  // loop keeps in flight: the others wait for a KV reservation to be released; sequences beyond max_batch but
  // within the KV memory are admitted and time-share the server's iterations (cohorts below).
  void capacity() {
    // A server that holds no layers (split after the last one) keeps no KV cache: only max_batch limits it.
    const int64_t seqs = cm_.server_kv_bytes_per_token() <= 0 ? sc_.server.max_batch
                         : f_.groups.empty()                  ? 0
                                                              : f_.groups[0].alone.server_max_sequences;
    f_.capacity = std::min<int64_t>(sc_.server.max_batch, seqs);
    if (f_.capacity < 1) {
      if (!f_.infeasible)
        f_.reason = fmt::format("server out of memory: {} weights leave no room for one {}-token KV cache on {}",
                                format_bytes(cm_.server_weight_bytes()), P_ + K_, sys_.server.name);
      f_.infeasible = true;
      f_.capacity = 1;
    }
    cap_ = static_cast<double>(f_.capacity);
    ctx_ = static_cast<double>(P_) + 0.5 * static_cast<double>(K_);  // mean context of a decode step
    // The splits the decode steps enter the server at, weighted by their share of the steps (one, unless a split
    // schedule moves during the request).
    decode_splits_.clear();
    for (int64_t k = 1; k < std::max<int64_t>(K_, 2); ++k) {
      const int64_t s = plan_.split_at(P_ + k - 1);
      if (decode_splits_.empty() || decode_splits_.back().first != s) decode_splits_.emplace_back(s, 0.0);
      decode_splits_.back().second += 1;
    }
    for (auto& [s, w] : decode_splits_) w /= static_cast<double>(std::max<int64_t>(K_ - 1, 1));
    splits_ = plan_.wire != WireFormat::token_ids;
    codec_decode_step_ = splits_ ? cm_.server_decode_codec(1) : 0.0;
    prefill_work_ = cm_.server_prefill(P_) + (splits_ ? cm_.server_decode_codec(P_) : 0.0);
    closed_ = sc_.workload.arrival == "closed";
    const bool kv_bound = closed_ && cm_.server_kv_bytes_per_token() > 0;  // a server without layers keeps no KV
    admitted_ = kv_bound ? std::min(N_, static_cast<double>(std::max<int64_t>(seqs, 1))) : N_;
    n_ = admitted_;
  }

  double iteration(double b) const {
    int64_t bi = std::max<int64_t>(1, std::llround(std::ceil(b - 1e-9)));
    double t = 0;
    for (const auto& [split, share] : decode_splits_)
      t += share * cm_.server_step_at(split, bi, static_cast<double>(bi) * ctx_);
    return t + static_cast<double>(bi) * codec_decode_step_;
  }
  // Steps that reach the server spread over the token cycle (a dephased closed loop, Poisson arrivals) are not
  // batched in cohorts: an iteration takes the steps that arrived during the one before it, b = n x S(b) / cycle
  // with cycle = local + S(b) + the wait for the iteration in progress (half of one at load rho), between 1 and the
  // batch capacity: a server that cannot keep up queues the steps until its batch is large enough to (or full).
  // S is interpolated between whole batches: a mean of 1.5 is half ones and half twos.
  double iteration_mean(double b) const {
    const double lo = std::max(1.0, std::floor(b)), hi = std::ceil(std::max(b, 1.0));
    return lo == hi ? iteration(lo) : iteration(lo) + (b - lo) * (iteration(hi) - iteration(lo));
  }
  double spread_batch(double n, double local) const {
    double b = 1;
    for (int it = 0; it < 200; ++it) {
      const double S = iteration_mean(b);
      const double rho = std::min(0.99, n * S / (b * (local + S)));
      const double next = std::clamp(n * S / (local + S * (1 + rho / 2)), 1.0, std::max(1.0, std::min(cap_, n)));
      if (std::abs(next - b) < 1e-9 * b) break;
      b = 0.5 * (b + next);
    }
    return b;
  }

  // Cloud-only streams its tokens without a per-step round trip: only the prompt crosses a cell per request.
  double step_extra(const CellDelay& d) const { return splits_ ? d.up_step + d.down_step : 0.0; }

  // Device-weighted over the fleet: the local step and the prompt's cell delay; the busiest cell link per cycle.
  struct FleetLocal {
    double local = 0, prompt = 0, busy = 0;
  };
  FleetLocal fleet_local(const Regime& r) const {
    FleetLocal fl;
    for (size_t g = 0; g < f_.groups.size(); ++g) {
      const Estimate& a = f_.groups[g].alone;
      const double local = local_step(plan_, a.decode_mean);
      const double share = static_cast<double>(sys_.fleet[g].group.count) / N_;
      for (const CellClass& c : cell_classes(sys_.fleet[g].group)) {
        const CellDelay d = cell_delay(sys_, g, a, c.size, r);
        fl.local += share * c.devices * (local + step_extra(d));
        fl.prompt += share * c.devices * (d.up_prompt + d.down_prompt);
        fl.busy = std::max(fl.busy, d.busy);
      }
    }
    return fl;
  }

  // Lockstep cohorts; every device's prefill arrives at once and is served first come first served.
  void closed_loop() {
    k_ = std::ceil(n_ / cap_);
    b_ = std::ceil(n_ / k_);
    S_ = iteration(b_);
    busy_b_ = b_, busy_S_ = S_;
    regime_.cohorts = k_;
    const FleetLocal fl = fleet_local(regime_);
    tok_ = std::max({fl.local + S_, k_ * S_, fl.busy});
    if (sc_.workload.think_time > 0) {
      // Dephased: the simulator starts each device at a uniform time in [0, think_time), so requests arrive
      // spread out at N / (think_time + e2e) per second (the interactive response-time law) and a prefill
      // waits only for the iteration in progress, in the next one beside the decode steps: rho * S / 2, where
      // rho is the server load of the other N - 1 devices (a device's own requests never overlap).
      double e2e = 0;
      for (size_t g = 0; g < f_.groups.size(); ++g)
        e2e += static_cast<double>(sys_.fleet[g].group.count) / N_ * f_.groups[g].alone.e2e;
      prompt_regime_.poisson = true;
      prompt_regime_.rate = 1 / (sc_.workload.think_time + e2e);
      b_ = spread_batch(n_, fl.local);
      k_ = n_ / b_;
      S_ = iteration_mean(b_);
      tok_ = std::max({fl.local + S_, k_ * S_, fl.busy});
      busy_b_ = b_, busy_S_ = S_;
      prefill_rho_ = std::min(0.99, (admitted_ - 1) * prompt_regime_.rate * (prefill_work_ + steps_ * S_ / b_));
    }
  }

  // A dephased closed loop's prefill waits for the iteration in progress and, when the server is the bottleneck
  // (the cycle is k S, beyond the device's own local + S), behind the decode steps queued before it in arrival
  // order: the same wait as a step's.
  // The first requests start spread over [0, think_time): when their prefills take the server longer than that
  // window (N x prefill > think time), they queue as a burst, the i-th waiting i (prefill - think / N): on average
  // (N prefill - think) / 2 over the first round, a share 1 / requests_per_device of all requests.
  double dephased_prefill_wait() const {
    const double local = fleet_local(regime_).local;
    const double burst = std::max(0.0, admitted_ * prefill_work_ - sc_.workload.think_time);
    return prefill_rho_ * S_ / 2 + std::max(0.0, tok_ - local - S_) + burst / 2 / std::max(1.0, rpd_);
  }

  // Poisson: fixed point on the number of sequences in flight.
  void poisson() {
    const double lambda = rate_ * N_;  // requests per second, all devices
    double e2e = f_.groups.empty() ? 0 : f_.groups[0].alone.e2e;
    n_ = std::clamp(lambda * e2e, 1.0, N_);
    regime_.poisson = true;
    regime_.rate = rate_;
    prompt_regime_ = regime_;
    for (int it = 0; it < 100; ++it) {
      k_ = std::ceil(n_ / cap_);
      b_ = std::max(1.0, std::ceil(n_ / k_));
      S_ = iteration(b_);
      const FleetLocal fl = fleet_local(regime_);
      rho_ = std::min(0.99, lambda * (prefill_work_ + steps_ * S_ / b_));
      tok_ = std::max(fl.local + S_ + rho_ * S_ / 2, k_ * S_);
      prefill_wait_ = rho_ / (1 - rho_) * prefill_work_ / 2;
      double ttft = (f_.groups.empty() ? 0 : f_.groups[0].alone.ttft) + prefill_wait_ + fl.prompt;
      e2e = ttft + steps_ * tok_;
      double n_new = std::clamp(lambda * e2e, 1.0, N_);
      if (std::abs(n_new - n_) < 1e-9 * n_) break;
      n_ = 0.5 * (n_ + n_new);
    }
    // The latencies above keep the cohort batch their tests measured against the simulator (its load makes the
    // residual-wait term right; the arrivals' correlation with the iterations is not modelled). The server's work
    // per token is the spread batch's: the steps do not arrive in cohorts (screen-vs-sim: busy per token within 1%
    // on a Poisson fleet where the cohort batch underestimates it several times over).
    busy_b_ = spread_batch(n_, fleet_local(regime_).local);
    busy_S_ = iteration_mean(busy_b_);
  }

  // Each group's latencies and stages with the other devices, device-weighted over its cell sizes (one class of
  // zero delays on private links).
  void groups() {
    const bool together = closed_ && sc_.workload.think_time <= 0;
    const PrefillWaits waits =
        together ? batched_prefills(cm_, f_.groups, f_.capacity, prompt_regime_, admitted_ / N_)
                 : PrefillWaits::uniform(f_.groups.size(), regime_.poisson ? prefill_wait_ : dephased_prefill_wait());
    for (size_t g = 0; g < f_.groups.size(); ++g) {
      auto& ge = f_.groups[g];
      const Estimate& a = ge.alone;
      double tpot = 0, prompt_up = 0, prompt_down = 0, step_up = 0, step_down = 0, step = 0;
      const std::vector<CellClass> classes = cell_classes(sys_.fleet[g].group);
      for (size_t i = 0; i < classes.size(); ++i) {
        const CellClass& c = classes[i];
        const CellDelay cd = cell_delay(sys_, g, a, c.size, regime_);
        const CellDelay cp = cell_delay(sys_, g, a, c.size, prompt_regime_);
        const double local_c = local_step(plan_, a.decode_mean) + step_extra(cd);
        tpot += c.devices * std::max({local_c + S_ + rho_ * S_ / 2, k_ * S_, cd.busy});
        prompt_up += c.devices * cp.up_prompt, prompt_down += c.devices * cp.down_prompt;
        step_up += c.devices * cd.up_step, step_down += c.devices * cd.down_step, step += c.devices * step_extra(cd);
      }
      const double local = local_step(plan_, a.decode_mean) + step;
      ge.tpot = K_ > 1 ? tpot : 0;
      const double wait = waits.mean(g);
      ge.ttft = a.ttft + wait + (prompt_up + prompt_down);
      ge.e2e = ge.ttft + steps_ * ge.tpot;
      ge.per_request = a.prefill;
      ge.per_request.uplink += prompt_up;
      ge.per_request.downlink += prompt_down;
      StageTimes d = a.decode_mean;
      if (splits_) d.uplink += step_up, d.downlink += step_down;
      d.server_compute = S_ - static_cast<double>(std::llround(std::ceil(b_ - 1e-9))) * codec_decode_step_;
      d.server_decode = codec_decode_step_;
      ge.per_request += d.scaled(steps_);
      ge.server_queue = wait + steps_ * std::max(0.0, ge.tpot - (splits_ ? local : 0.0) - S_);
      // Not in n above: a request waiting for its own device is not yet at the server.
      if (regime_.poisson) {
        ge.device_queue = device_wait(rate_, ge.e2e, rpd_);
        ge.ttft += ge.device_queue, ge.e2e += ge.device_queue;
      }
      held_ += ge.devices / N_ *
               (ge.e2e - (a.prefill.edge_compute + a.prefill.encode + a.prefill.uplink + prompt_up) -
                (K_ > 1 ? a.decode_mean.downlink + step_down : a.prefill.downlink + prompt_down));
      e2e_max_ = std::max(e2e_max_, ge.e2e);
      ttft_max_ = std::max(ttft_max_, a.ttft + waits.last(g) + (prompt_up + prompt_down));
      const auto& group = sys_.fleet[g].group;
      const double count = static_cast<double>(group.count);
      const auto& link = sys_.fleet[g].link;
      bytes_up_ += count * a.bytes_up_total / std::min(link.uplink.value, sys_.backbone.uplink.value);
      access_links_ += group.cell_size > 0 ? std::ceil(count / static_cast<double>(group.cell_size)) : count;
    }
  }

  // The run's span (with the admission waves of a closed loop), utilization and throughput.
  void totals() {
    const double requests = N_ * rpd_;
    const double busy = requests * (prefill_work_ + steps_ * busy_S_ / busy_b_);
    if (closed_) {
      // The last request of a run starts after the last prefill in the queue.
      f_.span = rpd_ * std::max(e2e_max_, ttft_max_ + steps_ * tok_) + (rpd_ - 1) * sc_.workload.think_time;
      if (admitted_ < N_) {
        const double in_flight = f_.device_mean(&FleetGroupEstimate::e2e);
        const double wait = admission_wait(N_ / admitted_, in_flight, held_, rpd_, sc_.workload.think_time);
        for (auto& ge : f_.groups) ge.ttft += wait, ge.e2e += wait, ge.server_queue += wait;
        f_.span = std::max(f_.span, N_ * rpd_ / admitted_ * held_ + (rpd_ - 1) * sc_.workload.think_time);
      }
    } else {
      f_.span = rpd_ / std::max(rate_, 1e-300) + e2e_max_;
    }
    f_.utilization = f_.span > 0 ? std::min(1.0, busy / f_.span) : 0;
    f_.throughput = f_.span > 0 ? requests * static_cast<double>(K_) / f_.span : 0;
    f_.server_busy_per_token = busy / (requests * static_cast<double>(K_));
    f_.uplink_utilization = f_.span > 0 ? bytes_up_ * rpd_ / (access_links_ * f_.span) : 0;
  }

  const CostModel& cm_;
  const System& sys_;
  const Scenario& sc_;
  const Plan& plan_;
  FleetEstimate f_;
  int64_t P_ = 0, K_ = 0;
  double steps_ = 0, N_ = 0, rpd_ = 0, rate_ = 0;  // rate_: requests per second per device (open loop)
  // capacity()
  double cap_ = 1, ctx_ = 0, codec_decode_step_ = 0, prefill_work_ = 0, admitted_ = 0;
  std::vector<std::pair<int64_t, double>> decode_splits_;  // (split, share of the decode steps)
  bool splits_ = true, closed_ = true;
  // closed_loop() / poisson()
  double n_ = 0, rho_ = 0, prefill_rho_ = 0, prefill_wait_ = 0, tok_ = 0, k_ = 1, b_ = 1, S_ = 0;
  double busy_b_ = 1, busy_S_ = 0;  // the mean batch and iteration the server's work per token follows
  Regime regime_;
  Regime prompt_regime_;  // how the prompts meet on a cell: lockstep, or at random (Poisson, dephased closed loop)
  // groups()
  double e2e_max_ = 0, ttft_max_ = 0, bytes_up_ = 0, access_links_ = 0;
  double held_ = 0;  // device mean of the time a request holds its KV reservation
};

// A pool of servers: every server takes an equal share of the fleet's requests (round-robin and the balancing
// routers spread them evenly), so each server group is the one-server model at N / S devices, and the fleet's
// latencies are the groups' weighted by their share of the servers. Cell-affinity routing, which does not
// balance, is modelled the same way.
FleetEstimate estimate_pool(const System& sys) {
  const double S = static_cast<double>(sys.server_count());
  FleetEstimate f;
  double capacity = 0;
  for (size_t g = 0; g < sys.server_groups.size(); ++g) {
    System gs = sys.for_server_group(g);
    for (auto& fg : gs.fleet) fg.group.count = std::max<int64_t>(1, std::llround(static_cast<double>(fg.group.count) / S));
    for (size_t i = 0; i < gs.scenario.fleet.size(); ++i) gs.scenario.fleet[i].count = gs.fleet[i].group.count;
    const CostModel cm(gs);
    const FleetEstimate e = FleetSolver(cm).run();
    const double n = static_cast<double>(sys.server_groups[g].config.count), w = n / S;
    if (g == 0) {
      f = e;
      for (auto& ge : f.groups) ge.ttft = ge.tpot = ge.e2e = ge.server_queue = ge.device_queue = 0, ge.per_request = {};
      f.throughput = f.utilization = f.server_busy_per_token = f.uplink_utilization = f.active = f.batch = f.step = 0;
      f.span = 0;
    }
    for (size_t i = 0; i < f.groups.size(); ++i) {
      auto& to = f.groups[i];
      const auto& from = e.groups[i];
      to.ttft += w * from.ttft, to.tpot += w * from.tpot, to.e2e += w * from.e2e;
      to.server_queue += w * from.server_queue, to.device_queue += w * from.device_queue;
      to.per_request += from.per_request.scaled(w);
    }
    f.throughput += n * e.throughput;
    f.utilization += w * e.utilization;
    f.server_busy_per_token += w * e.server_busy_per_token;
    f.uplink_utilization += w * e.uplink_utilization;
    f.active += n * e.active, f.batch += w * e.batch, f.step += w * e.step;
    f.span = std::max(f.span, e.span);
    capacity += n * static_cast<double>(e.capacity);
    if (e.infeasible && !f.infeasible) f.infeasible = true, f.reason = e.reason;
  }
  f.devices = sys.scenario.device_count();
  f.capacity = static_cast<int64_t>(capacity);
  for (size_t i = 0; i < f.groups.size(); ++i) f.groups[i].devices = static_cast<double>(sys.fleet[i].group.count);
  return f;
}

}  // namespace

RequestShape request_shape(const System& sys, const FleetGroupEstimate& ge) {
  const Workload& w = sys.scenario.workload;
  const Estimate& a = ge.alone;
  RequestShape q;
  q.e2e = ge.e2e - ge.device_queue;  // waiting for its own device's previous request is idle time
  q.compute = ge.per_request.edge_compute + ge.per_request.encode;
  q.first_compute = a.prefill.edge_compute + a.prefill.encode;
  const auto out = static_cast<double>(a.output_tokens);
  if (sys.plan.server_has_head)  // split: prompt block, then a token down and a step up each; streamed: tokens down
    q.transfers = sys.plan.wire == WireFormat::token_ids ? 1 + out : 2 * out;
  q.transfer_time = ge.per_request.uplink + ge.per_request.downlink;
  q.up_bytes = a.bytes_up_total;
  q.down_bytes = a.bytes_down_total;
  if (w.requests_per_device > 1 && w.arrival == "closed") q.gap_after = w.think_time;
  if (w.requests_per_device > 1 && w.arrival == "poisson" && w.rate > 0) q.gap_after = std::max(0.0, 1 / w.rate - ge.e2e);
  return q;
}

namespace {
// Device energy per generated token, device-weighted over the groups; NaN when a group has no power figures.
double edge_energy_per_token(const CostModel& cm, const FleetEstimate& f) {
  const System& sys = cm.system();
  double energy = 0, tokens = 0;
  for (size_t g = 0; g < f.groups.size(); ++g) {
    const auto& power = sys.fleet[g].device.power;
    if (!power) return std::numeric_limits<double>::quiet_NaN();
    const FleetGroupEstimate& ge = f.groups[g];
    const auto& radio = sys.fleet[g].link.radio;
    energy += ge.devices * estimate_request_energy(*power, radio ? &*radio : nullptr, request_shape(sys, ge));
    tokens += ge.devices * static_cast<double>(ge.alone.output_tokens);
  }
  return tokens > 0 ? energy / tokens : std::numeric_limits<double>::quiet_NaN();
}
}  // namespace

FleetEstimate estimate_fleet(const CostModel& cm) {
  FleetEstimate f = cm.system().server_count() > 1 ? estimate_pool(cm.system()) : FleetSolver(cm).run();
  f.edge_energy_per_token = edge_energy_per_token(cm, f);
  return f;
}

}  // namespace splitsim
