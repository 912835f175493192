// Calibration: the fp32 model runs the calibration streams with a recording hook on one matrix per input
// (wq for the attention input, wo, w1 for the MLP input, w2), so each layer's inputs are captured exactly as
// the forward pass computes them. The hidden state at a split comes from the edge part of the same model.
#include "executor/methods/calibration.hpp"

#include <memory>

#include "executor/forward.hpp"
#include "executor/methods/fake_quant.hpp"

namespace splitsim {

namespace {

Eigen::MatrixXf to_matrix(const std::vector<float>& v, int64_t rows) {
  const int64_t n = rows > 0 ? static_cast<int64_t>(v.size()) / rows : 0;
  return Eigen::Map<const Eigen::MatrixXf>(v.data(), rows, n);
}

}  // namespace

const Eigen::MatrixXf& LayerInputs::of(LinearInput in) const {
  switch (in) {
    case LinearInput::attn_in: return attn_in;
    case LinearInput::attn_out: return attn_out;
    case LinearInput::ffn_in: return ffn_in;
    case LinearInput::ffn_mid: return ffn_mid;
  }
  return attn_in;
}

Calibration::Calibration(const ModelWeights& reference, std::vector<std::vector<int32_t>> streams)
    : reference_(&reference), streams_(std::move(streams)) {
  const ModelSpec& m = reference.spec;
  ModelWeights rec = reference;  // a copy that carries the recording hooks
  const auto L = static_cast<size_t>(m.n_layers);
  std::vector<std::vector<float>> sinks(4 * L);
  for (const LinearRef& r : layer_linears(rec)) {
    const bool first_of_input = r.linear == &rec.layers[static_cast<size_t>(r.layer)].wq ||
                                r.linear == &rec.layers[static_cast<size_t>(r.layer)].wo ||
                                r.linear == &rec.layers[static_cast<size_t>(r.layer)].w1 ||
                                r.linear == &rec.layers[static_cast<size_t>(r.layer)].w2;
    if (first_of_input)
      r.linear->set_input_hook(
          std::make_shared<RecordingHook>(&sinks[4 * static_cast<size_t>(r.layer) + static_cast<size_t>(r.input)]));
  }
  Workspace ws;
  Eigen::MatrixXf x;
  for (const auto& s : streams_) {
    KvCache cache(m, rec.part, static_cast<int64_t>(s.size()));
    embed(rec, s, x);  // (d, T)
    Segment seg{&cache, static_cast<int64_t>(s.size())};
    forward_layers(rec, {&seg, 1}, x, ws);
    tokens_ += static_cast<int64_t>(s.size());
  }
  layers_.resize(L);
  for (size_t l = 0; l < L; ++l) {
    layers_[l].attn_in = to_matrix(sinks[4 * l + 0], m.dim);
    layers_[l].attn_out = to_matrix(sinks[4 * l + 1], m.n_heads * m.head_dim());
    layers_[l].ffn_in = to_matrix(sinks[4 * l + 2], m.dim);
    layers_[l].ffn_mid = to_matrix(sinks[4 * l + 3], m.hidden_dim);
  }
}

const Eigen::MatrixXf& Calibration::hidden(int64_t split) const {
  auto it = hidden_.find(split);
  if (it != hidden_.end()) return it->second;
  ModelWeights edge = *reference_;
  edge.keep_only(ModelPart::edge(split));
  const ModelSpec& m = edge.spec;
  Eigen::MatrixXf all(m.dim, tokens_), x;
  Workspace ws;
  int64_t at = 0;
  for (const auto& s : streams_) {
    const auto T = static_cast<int64_t>(s.size());
    KvCache cache(m, edge.part, T);
    embed(edge, s, x);  // (d, T)
    Segment seg{&cache, T};
    forward_layers(edge, {&seg, 1}, x, ws);
    all.middleCols(at, T) = x;
    at += T;
  }
  return hidden_.emplace(split, std::move(all)).first->second;
}

}  // namespace splitsim
