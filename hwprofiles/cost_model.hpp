// The analytic cost model: roofline times of the operators of a split LLM, memory footprints, and the closed-
// form latency of one device alone.
//
// Time of an operator = max(flops / (peak(precision) * eff_compute), bytes / (bandwidth * eff_memory))
//                       + launches * launch_overhead.
// A profile with measured tables is costed from them where they cover the case: a host's executor tables
// (hwprofiles/measured_tables.hpp) or a GPU's kernel calibration (hwprofiles/gpu_costs.hpp: matmuls, codec,
// launches; attention and the small kernels stay on the roofline with the measured launch cost).
// Decode is memory-bound (a layer's weights are read once per step, shared by the whole batch on the server),
// so fewer weight bits speed up decode; prefill is compute-bound. A transfer takes the route's one-way
// latencies plus bytes over its narrowest bandwidth, the same closed form SimGrid reproduces for an
// uncontended route. The simulator calls these same functions for every compute step it models.
#pragma once
#include <cstdint>
#include <span>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "hwprofiles/system.hpp"

namespace splitsim {

struct MemoryBreakdown {
  double weights = 0;    // B
  double kv_cache = 0;   // B, for max_seq_len tokens (edge) or for the admitted sequences (server)
  double workspace = 0;  // B, activation buffers of the largest prefill
  double runtime = 0;    // B, OS + runtime overhead from the hardware profile
  double capacity = 0;   // B
  double total() const { return weights + kv_cache + workspace + runtime; }
  bool oom() const { return total() > capacity; }
  nlohmann::json to_json() const;
};

// One pass through the split pipeline; prefill or one decode step.
struct StageTimes {
  double edge_compute = 0;
  double encode = 0;
  double uplink = 0;
  double server_queue = 0;   // waiting at the server: here, its scheduler waking for the block (server_handoff)
  double server_decode = 0;  // codec decode on the server
  double server_compute = 0;
  double downlink = 0;
  double total() const {
    return edge_compute + encode + uplink + server_queue + server_decode + server_compute + downlink;
  }
  StageTimes& operator+=(const StageTimes& o);
  StageTimes scaled(double f) const;
  nlohmann::json to_json() const;
};

// The device's side of one pass through the split pipeline: its layers, the codec encode, and the block it then
// sends up. One function computes it for the prompt and one for a decode step; the closed form below and every
// simulator mode call them.
struct DeviceWork {
  double edge_compute = 0;  // s
  double encode = 0;        // s (the block's, and the moved KV's when the split schedule moves at this step)
  double up_bytes = 0;      // B sent on the uplink afterwards (0: nothing is sent)
  double moved_bytes = 0;   // B of up_bytes: kv_move frames handing layers to the server, sent before the block
  int64_t split = -1;       // a decode step's split (its block enters the server at this layer); -1: the prompt's
  int64_t moved = 0;        // layers it hands over (their kv_move frames are moved_bytes)
  double local() const { return edge_compute + encode; }
};

// Decode steps of one server iteration whose blocks enter at the same layer (a split schedule's band).
// What a wake factor scales: a device's forward pass or its codec encode, a server iteration or its codec decode.
enum class Wake { edge, encode, server, decode };

struct DecodeBand {
  int64_t split = 0;  // the steps' blocks enter at this layer
  int64_t steps = 0;
  double sum_context = 0;
};

struct Estimate {
  int64_t prompt_tokens = 0;
  int64_t output_tokens = 0;
  MemoryBreakdown edge_memory;
  MemoryBreakdown server_memory;   // weights + KV of one sequence at max_seq_len
  int64_t server_max_sequences = 0;  // requests of these lengths whose KV reservations the server holds at once
  StageTimes prefill;              // the time to first token, by stage
  StageTimes decode_mean;          // mean of one decode step, by stage
  double ttft = 0, tpot = 0, e2e = 0;  // s
  double tbt_max = 0;                  // s: the longest decode step (time between two tokens)
  double bytes_up_prefill = 0, bytes_up_per_token = 0, bytes_down_per_token = 0;
  double bytes_up_total = 0, bytes_down_total = 0;
  double server_busy_per_token = 0;  // s of server compute per generated token at batch 1
  bool estimated_codec = true;       // wire bytes from expected codec statistics, not a measured run
  nlohmann::json to_json() const;
};

class CostModel {
 public:
  explicit CostModel(const System& sys);

  const System& system() const { return sys_; }

  // Roofline time of an operation; `weight_bits`: the width of the weights it streams (HwProfile::memory_efficiency).
  static double op_time(const HwProfile& hw, double flops, double bytes, double launches, double weight_bits = 16);

  // Edge device of fleet group g.
  double edge_prefill(size_t g, int64_t T) const;   // embedding + edge layers (+ head for edge-only)
  double edge_step(size_t g, int64_t t) const;      // one decode step at context t (at the split of t - 1 cached)
  double edge_step_at(size_t g, int64_t split, int64_t t) const;  // the same at a given split
  double edge_encode(size_t g, int64_t T) const;    // codec encode of a T-token block
  // Server.
  double server_decode_codec(int64_t T) const;
  // s the server's scheduler takes to wake for a block that arrives while it sleeps (measured tables; 0 without):
  // the simulated server starts an iteration no earlier than that after the block that woke it.
  double server_handoff() const;
  // The factor by which a step of `stage` takes longer after its thread idled `gap` s (the measured tables' wake
  // curves, hwprofiles/measured_tables.hpp; 1 without them). g: the device group (edge, encode).
  double wake(Wake stage, double gap, size_t g = 0) const;
  // The extra seconds a step pays when its thread idled `idle` s before it: (wake factor - 1) x that side's
  // one-token step at `split` and `context`, and x one token's codec (a cold start refetches the weights and code a
  // step touches, whatever its tokens). The device's (its layers and encode) and the server's (an iteration and a
  // block's decode). All 0 without measured wake curves.
  struct WakePenalty {
    double compute = 0, codec = 0;
  };
  WakePenalty device_wake(size_t g, double idle, int64_t split, int64_t context) const;
  WakePenalty server_wake(double idle, int64_t split, double context) const;
  // Decoding the kv_move frames of `layers` handed over with `cached` positions (the executor's server applies
  // them before the step's block and counts them with its decode).
  double server_kv_move_decode(int64_t layers, int64_t cached) const;
  double server_prefill(int64_t T) const;           // server part + head for the last position
  double server_prefills(std::span<const int64_t> blocks) const;  // the layers of prefill blocks batched together
  double server_step(std::span<const int64_t> contexts) const;  // one batched decode iteration
  double server_step(int64_t batch, double sum_context) const;  // every step at the first split
  double server_step_at(int64_t split, int64_t batch, double sum_context) const;
  // One server iteration over a batch as the executor runs it: the prefill blocks (`prefill_tokens` each) as one
  // pass over all their tokens, the decode steps (contexts summing to sum_context), one LM head over the batch.
  double server_iteration(std::span<const int64_t> prefill_tokens, int64_t decode_steps, double sum_context) const;
  // The same with decode steps entering at different layers (split schedules): each layer runs once over the
  // steps whose split is at or below it, so a layer's weights are streamed once for all of them.
  double server_iteration(std::span<const int64_t> prefill_tokens, std::span<const DecodeBand> decode) const;
  // The device's work before its prompt block leaves, and before one decode step's block leaves (split
  // strategies; cloud-only sends its token ids once, edge-only sends nothing).
  // Decode step k >= 1 of a request with `prompt` tokens: context prompt + k, the split of prompt + k - 1 cached
  // tokens, and the kv_move frames of the layers the schedule hands over at this step (the executor's order:
  // compute at the new split, then the moves and the block back to back).
  DeviceWork device_prefill(size_t g, int64_t prompt) const;
  DeviceWork device_step(size_t g, int64_t prompt, int64_t k) const;
  // The same step at context t at a given split, handing `moved` layers over first (a reacting schedule's device
  // decides them itself: core/split_schedule.hpp, SplitTracker).
  DeviceWork device_step_at(size_t g, int64_t t, int64_t split, int64_t moved) const;
  // One layer's kv_move frame (core/formats/kv_move.hpp) for `positions` cached tokens, through the plan's codec.
  double kv_move_bytes(int64_t positions) const;
  // Bytes of kv_move frames over a whole request (0 without a moving schedule).
  double moved_bytes(int64_t prompt, int64_t output) const;
  // Wire (application bytes, framing included).
  double uplink_bytes(int64_t T) const;  // prompt block (T tokens) or one decode step (T = 1)
  // Payload of a wire block of T rows of `width` values in the plan's hidden-state codec (TS + TAB-Q: its
  // expected bits, and outliers in proportion to the width).
  double wire_block_bytes(int64_t T, int64_t width) const;
  double downlink_bytes() const;         // one generated token
  double transfer_up(size_t g, double bytes) const;
  double transfer_down(size_t g, double bytes) const;
  // The same transfer started at `start` (s of simulated time): on a traced link it follows the trace (the
  // closed form of the simulator's fast mode); start < 0 gives the time-free estimate above.
  // `phase`: where the device's link is in its trace at simulated time 0 (sim/topology.hpp, trace_phase).
  double transfer(size_t g, bool up, double bytes, double start, double phase = 0) const;
  double transfer_latency(size_t g) const;  // s: the one-way latency in transfer() (access link + backbone)
  // Weight bytes one edge step (every group runs the same plan) or one server iteration streams from memory
  // (every matrix is read once per step, whatever its tokens or batch): what a step puts on a shared memory bus.
  double edge_stream_bytes() const;
  double server_stream_bytes() const;
  // The host's measured per-message overhead (framing, socket calls, thread hand-offs) of a transfer of
  // `bytes`; 0 without measured tables. Included in transfer_up/down.
  double transport_overhead(size_t g, double bytes) const;
  // The router's hop to this system's server (its server group's link, System::for_server_group): latency +
  // bytes / rate, 0 without a link; up: router to server. The simulator charges it per routed server.
  double router_hop(bool up, double bytes) const;
  const LinkProfile* router_link() const;  // that group's link, nullptr without one
  // Memory.
  MemoryBreakdown edge_memory(size_t g) const;
  double server_weight_bytes() const;
  double server_kv_bytes_per_token() const;  // all server layers
  double server_kv_capacity() const;         // B available for KV caches
  // The admission rule, the one the executor's server applies: a request reserves the KV of its whole context
  // (prompt + output tokens, at most max_seq_len) when its prefill is admitted and holds it until its last token.
  double kv_reservation(int64_t prompt, int64_t output) const;
  MemoryBreakdown server_memory() const;

  // One device of group g alone (no contention): TTFT, TPOT, end-to-end by exact summation over steps.
  Estimate estimate(size_t g, int64_t prompt, int64_t output) const;

 private:
  double layers_decode(const HwProfile& hw, int bits, int64_t layers, int64_t batch, double sum_context) const;
  double layers_prefill(const HwProfile& hw, int bits, int64_t layers, int64_t T) const;
  double layers_prefill(const HwProfile& hw, int bits, int64_t layers, std::span<const int64_t> blocks) const;
  double head_time(const HwProfile& hw, int bits, int64_t tokens) const;
  double codec_time(const HwProfile& hw, int64_t T, bool encode) const;
  int64_t server_layers() const { return sys_.model.n_layers - sys_.plan.split_layer; }  // at the prefill
  int64_t server_held_layers() const { return sys_.model.n_layers - sys_.plan.lowest_split(); }
  int64_t layers_moved_at(int64_t prompt, int64_t k) const;  // by decode step k
  int64_t kv_move_rows(int64_t cached) const;  // a layer's moved KV as hidden-state-wide codec rows
  // ModelSpec::layer_weight_bytes, computed once per (bits, group size): every iteration of a simulation asks.
  double layer_bytes(int bits, int group_size) const;

  const System& sys_;
  int64_t matmul_params_ = 0;  // of one layer: attention + MLP matrices
  bool measured_ = false;      // some profile of the system has measured tables (wake curves can only come from them)
  mutable std::vector<std::tuple<int, int, double>> layer_bytes_memo_;
};

}  // namespace splitsim
