// The model as a layer graph, and the split points it allows.
//
// Vertices are operators (embedding, norms, attention, MLP, residual adds, head); edges are the tensors
// between them, marked when they carry the residual stream. A one-point split is a cut of a topological order
// where every edge crossing it carries the same residual tensor (d values per token): that is the only state
// the edge has to send. The graph is built from the ModelSpec, so sequential (Llama) and parallel (GPT-J)
// blocks give their own split points without the code assuming a chain.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "models/model_spec.hpp"

namespace splitsim {

struct SplitPoint {
  int64_t layer;              // layers [0, layer) are before the cut
  std::string tensor;         // the residual tensor that crosses ("x0" .. "xL")
  int64_t values_per_token;   // d
};

class LayerGraph {
 public:
  explicit LayerGraph(const ModelSpec& m);
  ~LayerGraph();
  LayerGraph(LayerGraph&&) noexcept;

  size_t vertex_count() const;
  size_t edge_count() const;
  std::vector<std::string> topological_names() const;
  std::vector<SplitPoint> split_points() const;

 private:
  struct Impl;
  Impl* impl_;
};

// Convenience: the valid split layers of a model (0 .. L for a Llama chain).
std::vector<int64_t> valid_split_layers(const ModelSpec& m);

}  // namespace splitsim
