#include <catch2/catch.hpp>

#include <cstdlib>

#include "models/layer_graph.hpp"

using namespace splitsim;

namespace {
std::vector<int64_t> range(int64_t n) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i <= n; ++i) v.push_back(i);
  return v;
}
}  // namespace

TEST_CASE("layer graph: a Llama chain splits at every block boundary", "[graph]") {
  ModelSpec m = load_model("llama2-7b");
  LayerGraph g(m);
  CHECK(g.vertex_count() == 2 + 6 * 32 + 2);
  auto points = g.split_points();
  REQUIRE(points.size() == 33);
  CHECK(points.front().layer == 0);
  CHECK(points.front().tensor == "x0");
  CHECK(points.back().layer == 32);
  CHECK(points.back().tensor == "x32");
  CHECK(points[5].values_per_token == 4096);
  CHECK(valid_split_layers(m) == range(32));
  // The topological order starts at the tokens and ends at the head.
  auto names = g.topological_names();
  CHECK(names.front() == "tokens");
  CHECK(names.back() == "lm_head");
}

TEST_CASE("layer graph: parallel blocks (GPT-J style) give their own split points", "[graph]") {
  ModelSpec m;
  m.name = "p";
  m.dim = 8;
  m.hidden_dim = 16;
  m.n_layers = 3;
  m.n_heads = 2;
  m.n_kv_heads = 2;
  m.vocab_size = 32;
  m.max_seq_len = 16;
  m.parallel_block = true;
  LayerGraph g(m);
  CHECK(g.vertex_count() == 2 + 4 * 3 + 2);
  CHECK(valid_split_layers(m) == range(3));
  // Inside a block two different tensors cross (the residual and the normed input), so no split there:
  // exactly one split per boundary.
  CHECK(g.split_points().size() == 4);
}
