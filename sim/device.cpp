#include "sim/device.hpp"

#include <algorithm>

namespace splitsim {

namespace {
// The step (at `split`, its token attending `context` positions) after the device idled since req.idle_from pays
// the measured cost of waking up (nothing without measured wake curves).
void wake_up(const CostModel& cost, RequestInFlight& req, double now, int64_t split, int64_t context, DeviceWork& w) {
  const CostModel::WakePenalty p = cost.device_wake(req.group, now - req.idle_from, split, context);
  w.edge_compute += p.compute;
  w.encode += p.codec;
  req.idle_from = now + w.local();
}
}  // namespace

DeviceWork begin_request(const CostModel& cost, RequestInFlight& req, RequestRecord& rec, double now) {
  if (req.split) req.split->start_request(req.prompt - 1);
  DeviceWork w = cost.device_prefill(req.group, req.prompt);
  const int64_t split = req.split ? req.split->split() : cost.system().plan.split_at(req.prompt - 1);
  wake_up(cost, req, now, split, req.prompt, w);
  rec.edge_compute += w.edge_compute;
  rec.encode += w.encode;
  return w;
}

std::optional<DeviceWork> token_at_device(const CostModel& cost, RequestInFlight& req, int64_t k, double at,
                                          double down, RequestRecord& rec) {
  rec.downlink += down;
  const double since = at - rec.arrival;
  if (k == 1)
    rec.ttft = since;
  else
    rec.tbt_max = std::max(rec.tbt_max, since - rec.e2e);
  rec.e2e = since;  // the latest token's, until end_request
  if (k >= req.output || req.streamed) return std::nullopt;
  DeviceWork w;
  if (req.split) {
    const int64_t moved = req.split->advance(req.prompt + k - 1);
    w = cost.device_step_at(req.group, req.prompt + k, req.split->split(), moved);
  } else {
    w = cost.device_step(req.group, req.prompt, k);
  }
  wake_up(cost, req, at, w.split, req.prompt + k, w);
  rec.edge_compute += w.edge_compute;
  rec.encode += w.encode;
  rec.bytes_moved += w.moved_bytes;  // the request's uplink bytes otherwise are known when it opens
  rec.bytes_up += w.moved_bytes;
  return w;
}

void end_request(RequestRecord& rec, double at) {
  rec.e2e = at - rec.arrival;
  rec.tpot = rec.output_tokens > 1 ? (rec.e2e - rec.ttft) / static_cast<double>(rec.output_tokens - 1) : 0.0;
}

}  // namespace splitsim
