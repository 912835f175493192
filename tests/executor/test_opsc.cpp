// OPSC weights + TS/TAB-Q wire on the real model: the split output stays close to the fp32 model (KL and
// greedy agreement, printed), and every uplink frame is exactly the frame header plus the codec's predicted
// encoded size of the hidden state that step sent.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "core/formats/frame.hpp"
#include "executor/eval.hpp"
#include "executor/forward.hpp"
#include "executor/generate.hpp"
#include "executor/local_run.hpp"
#include "executor/linear.hpp"
#include "exec_test_util.hpp"

using namespace splitsim;

namespace {

struct Config {
  int edge_bits, cloud_bits;
  CodecSpec wire;
};

Config opsc_config() {
  return {4, 8, CodecSpec{WireCodec::ts_tabq}};
}

}  // namespace

TEST_CASE("OPSC + TS + TAB-Q split stays close to the fp32 model", "[opsc][real]") {
  const auto* rm = test::real_model();
  if (!rm) return;
  const Config c = opsc_config();
  const int64_t S = 2;
  ModelWeights edge = rm->weights, server = rm->weights;
  edge.keep_only(ModelPart::edge(S));
  server.keep_only(ModelPart::server(rm->weights.spec, S));
  edge.quantize(c.edge_bits, 32);
  server.quantize(c.cloud_bits, 32);
  CHECK(edge.bytes() < 0.5 * rm->weights.bytes());

  auto streams = sample_streams(rm->weights, 4, 96, 11);
  EvalResult e = evaluate_split(rm->weights, edge, server, c.wire, streams);
  fmt::print("OPSC edge {} bits, server {} bits, ts-tabq, split {}: ppl {:.4f} -> {:.4f}, mean KL {:.4f} nats, "
             "greedy agreement {:.1f}%, {:.2f} bits/element on the wire\n",
             c.edge_bits, c.cloud_bits, S, e.ppl_ref, e.ppl_split, e.mean_kl, 100 * e.agreement, e.wire_bits_per_element);
  CHECK(e.positions == 4 * 95);
  CHECK(e.mean_kl > 0);  // it is lossy...
  CHECK(e.mean_kl < 0.1);  // ...but close: measured ~0.02 nats on this model
  CHECK(e.agreement > 0.85);
  CHECK(e.ppl_split < 1.1 * e.ppl_ref);
  CHECK(e.wire_bits_per_element < 16);

  // The unquantized configuration through the same evaluation is exact: the evaluator itself adds nothing.
  ModelWeights e32 = rm->weights, s32 = rm->weights;
  e32.keep_only(ModelPart::edge(S));
  s32.keep_only(ModelPart::server(rm->weights.spec, S));
  EvalResult exact = evaluate_split(rm->weights, e32, s32, CodecSpec{WireCodec::fp32}, streams);
  CHECK(exact.mean_kl == 0);
  CHECK(exact.agreement == 1);
}

TEST_CASE("bytes on the wire equal the codec's encoded size, step by step", "[opsc][real]") {
  const auto* rm = test::real_model();
  if (!rm) return;
  const Config c = opsc_config();
  const int64_t S = 3, steps = 16;
  ModelWeights edge = rm->weights, server = rm->weights;
  edge.keep_only(ModelPart::edge(S));
  server.keep_only(ModelPart::server(rm->weights.spec, S));
  edge.quantize(c.edge_bits, 32);
  server.quantize(c.cloud_bits, 32);
  const std::vector<int32_t> prompt = rm->tokenizer->encode("Lily saw a big dog");
  EdgeOptions o;
  o.split = S;
  o.steps = steps;
  o.wire = c.wire;
  auto r = run_local_split(edge, server, o, ServerOptions{}, 1, 1, prompt);
  const EdgeResult& res = r.requests[0];
  REQUIRE(res.steps.size() == static_cast<size_t>(steps));
  // Replay the edge: the same blocks it sent (prompt, then each generated token but the last).
  KvCache cache(edge.spec, edge.part, 64);
  Workspace ws;
  Eigen::MatrixXf x;
  std::vector<int32_t> block = prompt;
  double total = 0;
  for (int64_t k = 0; k < steps; ++k) {
    embed(edge, block, x);
    Segment seg{&cache, static_cast<int64_t>(block.size())};
    forward_layers(edge, {&seg, 1}, x, ws);
    const int64_t want = kFrameHeaderBytes + wire_expected_size(x, c.wire);
    CHECK(res.steps[static_cast<size_t>(k)].bytes_up == want);
    CHECK(res.steps[static_cast<size_t>(k)].bytes_down == kFrameHeaderBytes + kTokenPayloadBytes);
    total += static_cast<double>(want);
    block.assign(1, res.tokens[static_cast<size_t>(k)]);
  }
  CHECK(res.record.bytes_up == total);
  CHECK(res.steps[0].bytes_up > res.steps[1].bytes_up);  // the prompt block carries several tokens
}
