// Energy accounting (see energy.hpp): the per-state radio model and the device and server power models.
#include "hwprofiles/energy.hpp"

#include <algorithm>
#include <cmath>

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

}  // namespace splitsim
