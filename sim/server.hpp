// The shared server: one actor that schedules every device's work with continuous batching.
//
// Work reaches the server as items (a prefill of a new request, or one decode step of an admitted one). Each
// iteration takes the earliest ready items, up to max_batch, in (ready time, device) order; a prefill is only
// taken when its KV reservation fits the server's KV memory (first come, first served: a prefill that does not
// fit holds back the prefills behind it, decode steps go on). The iteration lasts what the caller's cost
// function says for that batch, as a SimGrid exec on the server host. Items may be pushed with a future ready
// time (devices whose work is computed in closed form); the server sleeps until the earliest one when idle.
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <queue>
#include <span>
#include <vector>

#include <simgrid/s4u/Semaphore.hpp>

namespace splitsim {

struct ServerItem {
  double ready = 0;       // s: when the item reaches the server
  int64_t device = 0;     // owner, and the tie-break between equal ready times
  int64_t tokens = 0;     // prefill: prompt tokens; decode: context length of the step
  double kv_need = 0;     // B reserved on admission (prefill only), released by release_kv
  bool prefill = false;
  int16_t moved = 0;      // decode: layers whose KV the step's kv_move frames hand over (decoded with its block)
  int32_t split = -1;     // decode: the layer its block enters at; -1: the plan's split for the item's context
};

struct ServerStats {
  double busy = 0;          // s spent in iterations
  int64_t iterations = 0;
  int64_t items = 0;        // prefills + decode steps served
  int64_t largest_batch = 0;
  double kv_peak = 0;       // B
};

class Server {
 public:
  // An iteration's duration for its batch; `idle`: s since the previous iteration ended (infinite before the first),
  // for the measured cost of waking up (CostModel::wake).
  using IterationTime = std::function<double(std::span<const ServerItem>, double idle)>;
  using Done = std::function<void(const ServerItem&, double start, double end)>;

  // Runs one iteration of `duration` s in the server actor; default: an exec on the server's own host.
  using Execute = std::function<void(double duration)>;

  Server(int64_t max_batch, double kv_capacity, IterationTime iteration_time, Done done, Execute execute = {});

  // The executor's batch window (server.batch_window): an iteration waits, up to `window` s after its earliest
  // ready item, until every admitted sequence's next step (and every waiting prefill) is ready or the batch is
  // full. 0: iterations start as soon as anything is ready.
  void set_batch_window(double window) { window_ = window; }
  // The executor's scheduler thread sleeps when it has nothing to do and takes `handoff` s to wake for a block
  // (measured: CostModel::server_handoff): an iteration after a sleep starts no earlier than that after the first
  // item that woke it, and the items count the wait as queueing. 0: at once.
  void set_handoff(double handoff) { handoff_ = handoff; }

  void push(const ServerItem& item);  // from any actor; wakes the server when idle
  void release_kv(double bytes);
  // A session closed before its last token (server.session_timeout): its KV is freed and it is no longer waited
  // for; from any actor, waking the server to admit or batch without it.
  void abandon(double kv_bytes);
  void run();                         // the actor body; runs until the simulation ends (make it a daemon)
  const ServerStats& stats() const { return stats_; }
  double kv_used() const { return kv_used_; }

 private:
  struct Later {
    bool operator()(const ServerItem& a, const ServerItem& b) const {
      return a.ready > b.ready || (a.ready == b.ready && a.device > b.device);
    }
  };
  void form_batch();
  // With a batch window: when the batch should wait for more steps, until when (else a negative time).
  double gather_until(double now) const;

  int64_t max_batch_;
  double kv_capacity_;
  double kv_used_ = 0;
  double window_ = 0;
  double handoff_ = 0;
  bool asleep_ = true;  // the last loop found nothing to run and waited (or the server has not run yet)
  int64_t active_ = 0;  // admitted sequences whose last token is not produced yet
  IterationTime iteration_time_;
  double last_end_ = -std::numeric_limits<double>::infinity();
  Done done_;
  Execute execute_;
  std::priority_queue<ServerItem, std::vector<ServerItem>, Later> arrivals_;  // not yet ready
  std::deque<ServerItem> prefills_, decodes_;  // ready, each in (ready, device) order
  std::vector<ServerItem> batch_;
  ServerStats stats_;
  bool idle_ = false, rung_ = false;
  simgrid::s4u::SemaphorePtr doorbell_;
};

}  // namespace splitsim
