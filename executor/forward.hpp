// The forward pass of a Llama-architecture model over a batch of token blocks, for any contiguous range of
// layers: the edge runs embedding + layers [0,S), the server layers [S,L) + final norm + head, the unsplit
// model all of it. Mutable run state (KV caches, workspace) lives apart from the immutable weights.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include <Eigen/Core>

#include "executor/weights.hpp"

namespace splitsim {

// One sequence's KV cache for the layers a part owns.
class KvCache {
 public:
  KvCache() = default;
  KvCache(const ModelSpec& m, const ModelPart& part, int64_t capacity);
  float* key(int64_t layer, int64_t pos) { return k_.data() + offset(layer, pos); }    // (kv_dim)
  float* value(int64_t layer, int64_t pos) { return v_.data() + offset(layer, pos); }  // (kv_dim)
  const float* key(int64_t layer, int64_t pos) const { return k_.data() + offset(layer, pos); }
  const float* value(int64_t layer, int64_t pos) const { return v_.data() + offset(layer, pos); }
  int64_t capacity() const { return capacity_; }
  double bytes() const { return static_cast<double>((k_.size() + v_.size()) * sizeof(float)); }
  // What bytes() will be for this shape, before allocating it (the server's KV budget is checked first).
  static double bytes_for(const ModelSpec& m, const ModelPart& part, int64_t capacity) {
    return 2.0 * static_cast<double>(part.layer_end - part.layer_begin) * static_cast<double>(capacity) *
           static_cast<double>(m.kv_dim()) * sizeof(float);
  }
  int64_t pos = 0;  // tokens already in the cache

 private:
  int64_t offset(int64_t layer, int64_t pos) const { return ((layer - layer_begin_) * capacity_ + pos) * kv_dim_; }
  int64_t layer_begin_ = 0, capacity_ = 0, kv_dim_ = 0;
  std::vector<float> k_, v_;  // (layers, capacity, kv_dim)
};

// A block of consecutive tokens of one sequence inside a batch: the next `tokens` columns of x, at positions
// cache->pos, cache->pos + 1, ... Its tokens enter at layer max(first_layer, the part's first layer): on a server
// whose sessions follow split schedules, each session's hidden state arrives at its own split.
struct Segment {
  KvCache* cache = nullptr;
  int64_t tokens = 0;
  int64_t first_layer = 0;
};

// Scratch buffers, grown on demand; one per thread that runs forward passes.
struct Workspace {
  Eigen::MatrixXf xb;    // (d, n) normed input
  Eigen::MatrixXf q;     // (h*hd, n)
  Eigen::MatrixXf k, v;  // (kv*hd, n)
  Eigen::MatrixXf att;   // (h*hd, n) attention output
  Eigen::MatrixXf hb;    // (f, n) gate, then gate*up
  Eigen::MatrixXf hb2;   // (f, n) up
  std::vector<float> scores;  // (t) one head's attention scores
  double bytes() const;
};

// x (d, n): the embedding rows of `tokens` (n).
void embed(const ModelWeights& w, std::span<const int32_t> tokens, Eigen::MatrixXf& x);

// Runs the part's layers over x (d, n) in place; the segments' token counts sum to n. Appends every token's
// keys and values to its segment's cache and advances cache->pos. Segments come in non-decreasing first_layer
// order, so that the columns that run a layer are always a leading block of x. `layer_end` >= 0 stops before
// that layer (an edge whose schedule handed its upper layers to the server); -1 runs to the part's end.
void forward_layers(const ModelWeights& w, std::span<const Segment> segments, Eigen::MatrixXf& x, Workspace& ws,
                    int64_t layer_end = -1);

// logits (V, cols.size()) = head · rmsnorm(x(:, c)) for the chosen columns c of x.
void forward_head(const ModelWeights& w, const Eigen::MatrixXf& x, std::span<const int64_t> cols,
                  Eigen::MatrixXf& logits, Workspace& ws);

}  // namespace splitsim
