#include "models/layer_graph.hpp"

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/topological_sort.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace splitsim {

struct OpNode {
  std::string name;
  int64_t layer = -1;  // transformer block index; -1 for embedding, -2 for final norm/head
};

struct TensorEdge {
  std::string tensor;
  bool residual = false;
};

using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS, OpNode, TensorEdge>;
using Vertex = boost::graph_traits<Graph>::vertex_descriptor;

struct LayerGraph::Impl {
  Graph g;
  std::vector<Vertex> topo;  // vertices in topological order
  int64_t n_layers = 0;
  int64_t dim = 0;

  Vertex add(std::string name, int64_t layer) { return boost::add_vertex(OpNode{std::move(name), layer}, g); }
  void connect(Vertex a, Vertex b, std::string tensor, bool residual) {
    boost::add_edge(a, b, TensorEdge{std::move(tensor), residual}, g);
  }
};

LayerGraph::LayerGraph(const ModelSpec& m) : impl_(new Impl) {
  Impl& I = *impl_;
  I.n_layers = m.n_layers;
  I.dim = m.dim;
  Vertex tokens = I.add("tokens", -1);
  Vertex x = I.add("embedding", -1);
  I.connect(tokens, x, "token_ids", false);
  for (int64_t l = 0; l < m.n_layers; ++l) {
    std::string xin = fmt::format("x{}", l);
    if (m.parallel_block) {
      // y = x + attn(norm(x)) + mlp(norm(x))
      Vertex norm = I.add(fmt::format("norm.{}", l), l);
      Vertex attn = I.add(fmt::format("attention.{}", l), l);
      Vertex mlp = I.add(fmt::format("mlp.{}", l), l);
      Vertex add = I.add(fmt::format("add.{}", l), l);
      I.connect(x, norm, xin, true);
      I.connect(x, add, xin, true);
      I.connect(norm, attn, fmt::format("n{}", l), false);
      I.connect(norm, mlp, fmt::format("n{}", l), false);
      I.connect(attn, add, fmt::format("a{}", l), false);
      I.connect(mlp, add, fmt::format("m{}", l), false);
      x = add;
    } else {
      // h = x + attn(norm(x)); y = h + mlp(norm(h))
      Vertex an = I.add(fmt::format("attention_norm.{}", l), l);
      Vertex attn = I.add(fmt::format("attention.{}", l), l);
      Vertex add1 = I.add(fmt::format("attention_add.{}", l), l);
      Vertex fn = I.add(fmt::format("ffn_norm.{}", l), l);
      Vertex mlp = I.add(fmt::format("mlp.{}", l), l);
      Vertex add2 = I.add(fmt::format("ffn_add.{}", l), l);
      std::string h = fmt::format("h{}", l);
      I.connect(x, an, xin, true);
      I.connect(x, add1, xin, true);
      I.connect(an, attn, fmt::format("an{}", l), false);
      I.connect(attn, add1, fmt::format("a{}", l), false);
      // h is inside the block: the KV cache of this layer's attention is already on the producer's side, but a
      // cut here would split the block, which one-point split compression does not do. Mark it non-residual.
      I.connect(add1, fn, h, false);
      I.connect(add1, add2, h, false);
      I.connect(fn, mlp, fmt::format("fn{}", l), false);
      I.connect(mlp, add2, fmt::format("m{}", l), false);
      x = add2;
    }
  }
  Vertex fnorm = I.add("final_norm", -2);
  Vertex head = I.add("lm_head", -2);
  I.connect(x, fnorm, fmt::format("x{}", m.n_layers), true);
  I.connect(fnorm, head, "normed", false);

  std::vector<Vertex> rev;
  boost::topological_sort(I.g, std::back_inserter(rev));
  I.topo.assign(rev.rbegin(), rev.rend());
}

LayerGraph::~LayerGraph() { delete impl_; }
LayerGraph::LayerGraph(LayerGraph&& o) noexcept : impl_(o.impl_) { o.impl_ = nullptr; }

size_t LayerGraph::vertex_count() const { return boost::num_vertices(impl_->g); }
size_t LayerGraph::edge_count() const { return boost::num_edges(impl_->g); }

std::vector<std::string> LayerGraph::topological_names() const {
  std::vector<std::string> out;
  for (Vertex v : impl_->topo) out.push_back(impl_->g[v].name);
  return out;
}

std::vector<SplitPoint> LayerGraph::split_points() const {
  const Graph& g = impl_->g;
  std::vector<SplitPoint> out;
  std::vector<bool> in_prefix(boost::num_vertices(g), false);
  std::map<int64_t, int64_t> nodes_per_layer, prefix_nodes_per_layer;
  for (Vertex v : impl_->topo) ++nodes_per_layer[g[v].layer];
  // Walk the cut through the topological order; after each vertex, look at the edges that cross it.
  for (size_t k = 0; k + 1 < impl_->topo.size(); ++k) {
    Vertex v = impl_->topo[k];
    in_prefix[v] = true;
    ++prefix_nodes_per_layer[g[v].layer];
    std::set<std::string> crossing;
    bool all_residual = true;
    for (Vertex u : impl_->topo) {
      if (!in_prefix[u]) continue;
      for (auto [e, end] = boost::out_edges(u, g); e != end; ++e) {
        if (in_prefix[boost::target(*e, g)]) continue;
        crossing.insert(g[*e].tensor);
        all_residual = all_residual && g[*e].residual;
      }
    }
    if (crossing.size() != 1 || !all_residual) continue;
    // The split layer is the number of whole blocks before the cut; a cut inside a block never qualifies here.
    int64_t whole = 0;
    for (int64_t l = 0; l < impl_->n_layers; ++l)
      if (prefix_nodes_per_layer[l] == nodes_per_layer[l]) whole = l + 1;
    if (!out.empty() && out.back().layer == whole) continue;
    out.push_back({whole, *crossing.begin(), impl_->dim});
  }
  return out;
}

std::vector<int64_t> valid_split_layers(const ModelSpec& m) {
  std::vector<int64_t> out;
  for (const auto& p : LayerGraph(m).split_points()) out.push_back(p.layer);
  return out;
}

}  // namespace splitsim
