// The edge side of a split request: embedding + layers [0,S) with its own KV cache, the hidden state encoded
// for the wire, sent over its (shaped) link to the server, which answers with the next token.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/metrics.hpp"
#include "core/split_schedule.hpp"
#include "executor/records.hpp"
#include "executor/sampler.hpp"
#include "executor/transport.hpp"
#include "executor/weights.hpp"
#include "executor/wire.hpp"

namespace splitsim {

struct EdgeOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  int64_t split = 0;
  // A split that moves with the context (core/split_schedule.hpp); its first band's split replaces `split`.
  // The edge part must hold layers [0, schedule->first()).
  std::optional<SplitSchedule> schedule;
  SplitSchedule effective_schedule() const { return schedule ? *schedule : SplitSchedule::fixed(split); }
  // A schedule with windows reacts to the uplink (core/split_schedule.hpp): `tracker` is the client's, kept across
  // its requests as the simulator keeps a device's (over `schedule`); without one each request observes afresh.
  std::optional<SplitReaction> reaction;
  SplitTracker* tracker = nullptr;
  LinkShape link;
  CodecSpec wire{WireCodec::fp32};
  SamplingConfig sampling;  // the server samples with it
  int64_t steps = 64;       // tokens to generate
  // Called after the handshake, before the request's clock starts (local runs: all clients start together).
  std::function<void()> start_gate;
};

struct EdgeResult {
  std::vector<int32_t> tokens;  // generated (without the prompt)
  RequestRecord record;
  std::vector<TokenRecord> steps;
  double control_bytes_up = 0, control_bytes_down = 0;  // hello/end and ack/stats frames (not in the simulator)
  double edge_weights_bytes = 0, edge_kv_bytes = 0, edge_workspace_bytes = 0;
  double server_weights_bytes = 0, server_kv_bytes = 0;
  double server_busy_share = 0;  // s: this session's decode time plus its share (1/batch) of each batch's compute
  std::vector<int64_t> server_batch;  // per step: sequences in the server batch that computed it
  std::string failure;  // the server's reason when it closed the session mid-request (record.failed)
};

// Runs one request against a server. `run_start` (now_s() time) is the zero of arrival times; `request` and
// `device` label the records. Throws InputError on a refusal by the server (error frame) or a bad answer, but for
// a session the server closed for its silence (a link outage that outlasted the session timeout): that is a failed
// request, record.failed, with the tokens received and `failure` the server's reason.
EdgeResult run_edge_request(const ModelWeights& edge_part, const EdgeOptions& o, std::span<const int32_t> prompt,
                            int64_t request, int64_t device, double run_start,
                            const std::function<void(int32_t)>& on_token = {});

}  // namespace splitsim
