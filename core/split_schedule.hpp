// A split schedule: the split layer as a function of the context length. The edge holds the KV cache of its
// layers, which grows with every token; a schedule hands layers to the server as the context grows, so that
// the edge's memory stays bounded while a short context still runs most layers locally.
//
//   "0:4,40:2,80:1"  — positions [0,40) at split 4, [40,80) at split 2, 80 and beyond at split 1.
//
// A step runs at the split of the last position it writes: a decode step with c tokens already cached at at(c),
// a prompt of P tokens at at(P - 1). So the edge's cache of a layer never holds a position at or beyond the
// context at which the layer moves, and a long prompt starts below the first band. Splits only decrease: a layer
// handed to the server never comes back (its KV and weights would have to travel back too), so every band gives
// the server at least one more layer. When a step's split is lower than the previous step's, the edge sends the
// KV of the moved layers for the c cached positions (core/formats/kv_move.hpp) before the step's block; the
// server then runs those layers for this and every later token. A single band is a static split.
//
// A band may react to the link: "0:24,1024-2048:20" may move at any step from context 1024 on, as soon as the
// uplink's observed rate is good enough (SplitReaction), and moves at 2048 whatever the link. Its CONTEXT (2048)
// stays the deadline every static use reads (at(), the edge's memory, the server's reservation): a reacting
// device only ever holds fewer layers than at() says, never more. A prompt starts in the band its last position's
// deadline gives; early moves happen between decode steps (SplitTracker).
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace splitsim {

struct SplitBand {
  int64_t context = 0;  // tokens already in the cache from which this band's split applies (the deadline)
  int64_t split = 0;    // layers [0, split) on the edge
  int64_t earliest = -1;  // a reacting band may move from this context on (-1, or = context: a fixed band)
  int64_t from() const { return earliest < 0 ? context : earliest; }
  bool operator==(const SplitBand&) const = default;
};

class SplitSchedule {
 public:
  SplitSchedule() = default;
  // One band: a static split.
  static SplitSchedule fixed(int64_t split) { return SplitSchedule({{0, split}}); }
  // "[EARLIEST-]CONTEXT:SPLIT,..." as above. InputError "<what>: expected ..., got ..." unless the first band
  // starts at context 0, contexts strictly increase, earliest contexts strictly increase and none is above its
  // band's context, splits strictly decrease and every split is in 0..n_layers.
  static SplitSchedule parse(const std::string& text, int64_t n_layers, const std::string& what);
  // The same checks on bands given one by one (a scenario's table).
  static SplitSchedule from_bands(std::vector<SplitBand> bands, int64_t n_layers, const std::string& what);

  int64_t at(int64_t position) const;  // the split of a step whose last position is `position`
  int64_t first() const { return bands_.front().split; }   // the most layers the edge ever holds
  int64_t lowest() const { return bands_.back().split; }   // the most layers the server ever holds
  bool moves() const { return bands_.size() > 1; }
  bool reacts() const;  // some band has a window (EARLIEST < CONTEXT)
  const std::vector<SplitBand>& bands() const { return bands_; }
  std::string to_string() const;  // parse()'s format
  bool operator==(const SplitSchedule&) const = default;

 private:
  explicit SplitSchedule(std::vector<SplitBand> b) : bands_(std::move(b)) {}
  std::vector<SplitBand> bands_{{0, 0}};
};

// How a reacting band decides: it moves at the first decode step at or after its earliest context at which the
// uplink rate observed over the device's last `window` uploads (their bytes over the time the link took to carry
// them, the one-way latency left out) is at least `min_rate`. Until `window` uploads are observed it waits.
struct SplitReaction {
  static constexpr int64_t kMaxWindow = 16;
  double min_rate = 0;  // B/s
  int64_t window = 4;   // uploads, 1..kMaxWindow
};

// One device's split under a schedule, step by step: what the simulator's devices and the executor's edge both
// run. The observations are the device's link's and outlive a request; the bands restart with every request.
class SplitTracker {
 public:
  SplitTracker() = default;
  SplitTracker(const SplitSchedule* schedule, SplitReaction reaction) : schedule_(schedule), reaction_(reaction) {}
  // A new request whose prompt's last position is `position`: the band that position's deadline gives.
  void start_request(int64_t position);
  // Before a decode step whose last position is `position`: the bands it enters (deadlines passed, or windows
  // open while the link is good). Returns the layers this step hands to the server.
  int64_t advance(int64_t position);
  int64_t split() const;
  // One upload (prompt block, or a step's moves and block) of `bytes` that the link carried in `seconds`.
  void observe(double bytes, double seconds);
  // The rate over the last `window` uploads (B/s; infinite when they took no time), none before `window` of them.
  std::optional<double> observed_rate() const;

 private:
  bool link_good() const;
  const SplitSchedule* schedule_ = nullptr;
  SplitReaction reaction_;
  uint32_t next_ = 1;  // index of the next band to enter
  uint32_t seen_ = 0;  // uploads observed (saturating at kMaxWindow)
  uint32_t head_ = 0;  // ring slot of the next observation
  std::array<float, SplitReaction::kMaxWindow> bytes_{}, seconds_{};
};

}  // namespace splitsim
