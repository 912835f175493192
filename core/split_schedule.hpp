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
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace splitsim {

struct SplitBand {
  int64_t context = 0;  // tokens already in the cache from which this band's split applies
  int64_t split = 0;    // layers [0, split) on the edge
  bool operator==(const SplitBand&) const = default;
};

class SplitSchedule {
 public:
  SplitSchedule() = default;
  // One band: a static split.
  static SplitSchedule fixed(int64_t split) { return SplitSchedule({{0, split}}); }
  // "CONTEXT:SPLIT,..." as above. InputError "<what>: expected ..., got ..." unless the first band starts at
  // context 0, contexts strictly increase, splits strictly decrease and every split is in 0..n_layers.
  static SplitSchedule parse(const std::string& text, int64_t n_layers, const std::string& what);
  // The same checks on bands given one by one (a scenario's table).
  static SplitSchedule from_bands(std::vector<SplitBand> bands, int64_t n_layers, const std::string& what);

  int64_t at(int64_t position) const;  // the split of a step whose last position is `position`
  int64_t first() const { return bands_.front().split; }   // the most layers the edge ever holds
  int64_t lowest() const { return bands_.back().split; }   // the most layers the server ever holds
  bool moves() const { return bands_.size() > 1; }
  const std::vector<SplitBand>& bands() const { return bands_; }
  std::string to_string() const;  // parse()'s format
  bool operator==(const SplitSchedule&) const = default;

 private:
  explicit SplitSchedule(std::vector<SplitBand> b) : bands_(std::move(b)) {}
  std::vector<SplitBand> bands_{{0, 0}};
};

}  // namespace splitsim
