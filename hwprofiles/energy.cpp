// Energy accounting (see energy.hpp): the per-state radio model and the device and server power models.
#include "hwprofiles/energy.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace splitsim {

RadioCharge charge_transfer(const RadioProfile& r, RadioState& s, double start, double end, double bytes, bool up) {
  RadioCharge c;
  const double tail = r.tail_time.value;
  if (!std::isfinite(s.busy_until) || start - s.busy_until > tail) {
    // Out of idle: the promotion, and the whole tail the previous transfer left (if any).
    c.now += r.promotion_time.value * r.promotion_power.value;
    if (std::isfinite(s.busy_until)) c.before += tail * r.tail_power.value;
  } else if (start > s.busy_until) {
    c.before += (start - s.busy_until) * r.tail_power.value;  // the gap, spent in the tail state
  }
  const double on_from = std::max(start, s.busy_until);
  c.now += std::max(0.0, end - on_from) * r.transfer.value;
  c.now += bytes * 8e-6 * (up ? r.up_per_mbps.value : r.down_per_mbps.value);  // alpha x throughput x time
  s.busy_until = std::max(s.busy_until, end);
  return c;
}

double final_tail(const RadioProfile& r) { return r.tail_time.value * r.tail_power.value; }

double estimate_request_energy(const PowerProfile& p, const RadioProfile* r, const RequestShape& q) {
  double radio = 0;
  if (r && q.transfers > 0) {
    const double tail = r->tail_time.value, promotion = r->promotion_time.value * r->promotion_power.value;
    const double gaps = std::max(0.0, q.transfers - 1);
    const double on = std::max(q.transfer_time, q.e2e - q.first_compute);
    const double gap = gaps > 0 ? (on - q.transfer_time) / gaps : 0;
    radio = promotion + r->transfer.value * q.transfer_time +
            8e-6 * (r->up_per_mbps.value * q.up_bytes + r->down_per_mbps.value * q.down_bytes) +
            gaps * (gap > tail ? tail * r->tail_power.value + promotion : gap * r->tail_power.value);
    // After the request: the tail, cut short by the next request; a next request after the tail promotes again
    // (counted above for this one, as every request's first transfer).
    radio += std::min(q.gap_after, tail) * r->tail_power.value;
    if (q.gap_after <= tail) radio -= promotion;  // the next request finds the radio on
  }
  return device_energy(p, q.e2e, q.compute, radio);
}

double device_energy(const PowerProfile& p, double span, double compute, double radio) {
  return p.idle.value * span + (p.active.value - p.idle.value) * compute + radio;
}

double server_energy(const PowerProfile& p, double span, double busy) {
  return p.idle.value * span + (p.active.value - p.idle.value) * std::min(busy, span);
}

RunEnergy run_energy(const System& sys, double span, const std::vector<RequestRecord>& requests,
                     const std::vector<double>& busy) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  const size_t groups = sys.fleet.size();
  std::vector<int64_t> end(groups);  // one past each group's last device index
  for (size_t g = 0; g < groups; ++g) end[g] = (g ? end[g - 1] : 0) + sys.fleet[g].group.count;
  std::vector<double> group(groups, 0.0);
  for (size_t g = 0; g < groups; ++g) {
    const auto& power = sys.fleet[g].device.power;
    group[g] = power ? power->idle.value * span * static_cast<double>(sys.fleet[g].group.count) : kNaN;
  }
  for (const auto& r : requests) {
    if (r.oom) continue;
    const auto g = static_cast<size_t>(std::upper_bound(end.begin(), end.end(), r.device) - end.begin());
    if (g < groups && sys.fleet[g].device.power) group[g] += r.edge_energy - sys.fleet[g].device.power->idle.value * r.e2e;
  }
  RunEnergy e{0, kNaN, 0};
  for (size_t g = 0; g < groups; ++g) {
    e.edge += group[g];
    const double n = static_cast<double>(sys.fleet[g].group.count), battery = sys.fleet[g].group.battery;
    if (battery > 0 && span > 0 && group[g] > 0) {
      const double hours = battery / (group[g] / (n * span)) / 3600.0;
      e.battery_hours = std::isnan(e.battery_hours) ? hours : std::min(e.battery_hours, hours);
    }
  }
  if (!sys.plan.server_has_head) return e;  // the server is not part of the run
  size_t s = 0;
  for (const auto& sg : sys.server_groups)
    for (int64_t k = 0; k < sg.config.count; ++k, ++s)
      e.server += sg.profile.power ? server_energy(*sg.profile.power, span, s < busy.size() ? busy[s] : 0.0) : kNaN;
  return e;
}

}  // namespace splitsim
