// One device's request as every simulator mode runs it: the device's stages, their costs and their accounting in
// the request's record, written once.
//
// A split request: the device prefills its layers and encodes the prompt block (begin_request), the block goes
// up, the server prefills and returns the first token; each token that reaches the device (token_at_device)
// either ends the request or starts the next decode step: edge layers at the new context, encode, uplink.
// Cloud-only streams its tokens: a token that reaches the device starts nothing. The modes differ only in how
// time passes between these calls: a closed-form transfer, a StarNetwork flow, or a SimGrid comm or exec.
#pragma once
#include <cstdint>
#include <limits>
#include <optional>

#include "core/metrics.hpp"
#include "hwprofiles/cost_model.hpp"

namespace splitsim {

// The request a device is running.
struct RequestInFlight {
  size_t group = 0;
  int64_t prompt = 0, output = 0;
  bool streamed = false;  // cloud-only: the server streams the tokens, the device sends nothing per token
  SplitTracker* split = nullptr;  // a reacting split schedule: the device's own split (else the plan's)
  // When the device last finished computing (its last upload left): a step after a longer idle gap runs slower by
  // the measured wake factors (CostModel::wake). Carried from one request to the device's next.
  double idle_from = -std::numeric_limits<double>::infinity();
};

// The device's work before its prompt block leaves, starting at `now`, recorded as the request's edge and encode
// stages.
DeviceWork begin_request(const CostModel& cost, RequestInFlight& req, RequestRecord& rec, double now);

// Token k (1-based) of the request reached the device at `at`, `down` s after it left the server. Records the
// downlink, TTFT for the first token and the longest gap between tokens. Returns nothing when the device has no
// next step (the last token, or a streamed request); otherwise the next decode step's work, recorded (its split is
// the plan's, or the device's own under a reacting schedule, and any kv_move bytes it sends are added to the
// request's uplink bytes). The caller ends the request with end_request after the last token.
std::optional<DeviceWork> token_at_device(const CostModel& cost, RequestInFlight& req, int64_t k, double at,
                                          double down, RequestRecord& rec);

// The request's last token reached the device at `at`: end-to-end latency and TPOT.
void end_request(RequestRecord& rec, double at);

}  // namespace splitsim
