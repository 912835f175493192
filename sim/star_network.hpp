// The fast mode's network: exact weighted max-min fair sharing on the star platform (access links -> one
// backbone -> server), computed event by event without SimGrid's LMM solver.
//
// SimGrid's CM02 model as configure_engine() sets it up gives every flow, after its latency phase, a share of
// each link it crosses by progressive filling with weight 1 / penalty, the penalty being the route's latency
// (weight-S = 0). On a star each flow crosses exactly one access link and, per direction, one backbone, so the
// filling has two levels: a SHARED access link caps its n flows at B / n each, a FATPIPE access link caps each
// flow at B, and the backbone caps the rest at a common water level lambda (a flow's rate is lambda / penalty).
// All flows of one access link share its penalty, so they always run at one rate: the link is a processor-
// sharing queue whose flows finish when the link's cumulative per-flow service reaches their target. Links
// limited by the backbone advance with the backbone's cumulative level, so a change of lambda re-keys nothing.
// Cost per event: O(log n) plus the self-limited links walked while the backbone binds.
// Tests compare it with SimGrid's solver (full mode) on small fleets.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <queue>
#include <set>
#include <vector>

namespace splitsim {

class StarNetwork {
 public:
  static constexpr double kNever = std::numeric_limits<double>::infinity();

  // One direction (uplink or downlink) of the star; capacity kNever: no backbone.
  explicit StarNetwork(double backbone_capacity = kNever) : capacity_(backbone_capacity) {}

  // An access link of bandwidth B/s; penalty: the route latency of its flows (SimGrid's sharing weight).
  int32_t add_link(double bandwidth, double penalty, bool fatpipe);

  // A completed flow: its tag and the time its sender issued it (before the route latency).
  struct Done {
    uint64_t tag;
    double issued;
  };

  // A flow whose bandwidth phase starts at `start` (after its route latency) on `link`; tag and `issued` are
  // returned by step() when it completes. Starts must not lie before the last processed event.
  void add_flow(double start, int32_t link, double bytes, uint64_t tag, double issued);
  void add_flow(double start, int32_t link, double bytes, uint64_t tag) { add_flow(start, link, bytes, tag, start); }

  // The link's bandwidth becomes `bandwidth` at time t (a link whose rate follows a trace), t between the last
  // processed event and next_event(): its flows run at the old rate up to t and share the new one after.
  void set_bandwidth(double t, int32_t link, double bandwidth);

  double next_event();  // time of the next start or completion, kNever when none
  // Processes every event at time next_event(); appends the flows completed then.
  double step(std::vector<Done>& completed);

  int64_t active_flows() const { return active_; }
  double backbone_level() const { return level_; }  // kNever while the backbone does not bind

 private:
  struct Link {
    double bandwidth = 0, penalty = 0;
    bool fatpipe = false;
    int64_t n = 0;               // flows in their bandwidth phase
    bool bb = false;             // limited by the backbone (else by itself)
    double s = 0;                // cumulative per-flow service (B) at time t0 (self) or level sum l0 (bb)
    double t0 = 0, l0 = 0;
    uint64_t version = 0;        // invalidates stale completion keys
    int32_t prev = -1, next = -1;  // in its threshold's list of order_
    double filed = 0;              // the threshold it is filed under
    struct Target {
      double at;  // cumulative per-flow service at which the flow completes
      uint64_t tag;
      double issued;
      bool operator>(const Target& o) const { return at > o.at || (at == o.at && tag > o.tag); }
    };
    std::priority_queue<Target, std::vector<Target>, std::greater<>> targets;
    double demand() const { return fatpipe ? static_cast<double>(n) * bandwidth : bandwidth; }
    double threshold() const { return demand() * penalty / static_cast<double>(n); }  // level that caps it
  };
  struct Key {
    double at;  // time (self-limited) or backbone level sum (bb-limited)
    int32_t link;
    uint64_t version;
    bool operator>(const Key& o) const { return at > o.at || (at == o.at && link > o.link); }
  };
  struct Start {
    double at;
    uint64_t seq;
    int32_t link;
    double bytes;
    uint64_t tag;
    double issued;
    bool operator>(const Start& o) const { return at > o.at || (at == o.at && seq > o.seq); }
  };

  double service(const Link& l) const;  // cumulative per-flow service now
  void settle(int32_t i);               // fold the elapsed service into s at now
  void rekey(int32_t i);
  void resolve(const std::vector<int32_t>& changed);  // water level and link states after n changed (sorted)
  void advance_level(double t);

  double capacity_;
  double now_ = 0;
  double level_ = kNever, level_sum_ = 0;  // lambda and its integral over time (while binding)
  double demand_sum_ = 0;
  int64_t active_ = 0;
  int trigger_ = 0;  // what set the last next_event(): 0 a start, 1 a self-limited key, 2 a backbone one
  uint64_t seq_ = 0;
  std::vector<Link> links_;
  std::vector<int32_t> changed_;  // step()'s scratch: the links whose flow count changed
  std::map<double, int64_t> flows_by_penalty_;   // active flows per penalty, while the backbone is finite
  // Active links by threshold, while the backbone is finite: one list per distinct threshold (identical cells
  // share a handful of thresholds, B x penalty / n), so filing a link is a short map lookup and a list splice.
  std::map<double, int32_t> order_;  // threshold -> first link of its list
  void file(int32_t i);
  void unfile(int32_t i);
  template <class F>
  void for_each_filed(F&& f) const {
    for (const auto& [thr, head] : order_)
      for (int32_t i = head; i >= 0; i = links_[static_cast<size_t>(i)].next) f(i);
  }
  std::priority_queue<Start, std::vector<Start>, std::greater<>> starts_;
  std::priority_queue<Key, std::vector<Key>, std::greater<>> self_keys_, bb_keys_;
};

}  // namespace splitsim
