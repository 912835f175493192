// fp16 weights in the executor: the multiply is the fp32 multiply of the fp16-rounded weights bit for bit (kernel
// against its reference, and whole-model logits), an fp16 model stays close to the fp32 one, a split fp16 run
// equals the unsplit fp16 model token for token, the bytes held are the format's, and bad bit-widths name the
// input they came from.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "executor/calibrate.hpp"
#include "executor/exec_run.hpp"
#include "executor/forward.hpp"
#include "executor/generate.hpp"
#include "executor/linear.hpp"
#include "executor/local_run.hpp"
#include "exec_test_util.hpp"
#include "kernels/quant_math.hpp"
#include "core/formats/weight_format.hpp"
#include "models/model_spec.hpp"

using namespace splitsim;

namespace {

std::vector<float> normal_like(size_t n, uint32_t seed, float scale) {
  std::vector<float> v(n);
  uint32_t s = seed;
  for (auto& x : v) {  // sum of uniforms: roughly normal, deterministic everywhere
    float u = 0;
    for (int k = 0; k < 4; ++k) {
      s = s * 1664525u + 1013904223u;
      u += static_cast<float>(s >> 8) / 16777216.0f - 0.5f;
    }
    x = scale * u;
  }
  return v;
}

std::vector<float> rounded_to_half(const float* w, size_t n) {
  std::vector<float> r(w, w + n);
  for (float& v : r) v = qmath::half_to_float(qmath::float_to_half(v));
  return r;
}

// The model with every layer matrix and the head rounded to fp16 but stored (and multiplied) as fp32.
ModelWeights rounded_fp32(const ModelWeights& w) {
  ModelWeights r = w;
  auto round = [](Linear& m) {
    if (m.rows() == 0) return;
    m = Linear(m.rows(), m.cols(), rounded_to_half(m.data(), static_cast<size_t>(m.rows() * m.cols())));
  };
  for (int64_t l = r.part.layer_begin; l < r.part.layer_end; ++l) {
    LayerWeights& lw = r.layers[static_cast<size_t>(l)];
    for (Linear* m : {&lw.wq, &lw.wk, &lw.wv, &lw.wo, &lw.w1, &lw.w2, &lw.w3}) round(*m);
  }
  if (r.part.head) round(r.head);
  return r;
}

// Logits (V, T) of the whole model for a block of tokens from an empty cache.
Eigen::MatrixXf block_logits(const ModelWeights& w, const std::vector<int32_t>& tokens) {
  KvCache cache(w.spec, w.part, static_cast<int64_t>(tokens.size()) + 1);
  Workspace ws;
  Eigen::MatrixXf x, logits;
  embed(w, tokens, x);
  Segment seg{&cache, static_cast<int64_t>(tokens.size())};
  forward_layers(w, {&seg, 1}, x, ws);
  std::vector<int64_t> cols(tokens.size());
  for (size_t i = 0; i < cols.size(); ++i) cols[i] = static_cast<int64_t>(i);
  forward_head(w, x, cols, logits, ws);
  return logits;
}

ModelSpec small_spec() {
  ModelSpec m;
  m.name = "fp16-test";
  m.dim = 72;  // not a multiple of 16: the scalar tail of every dot product runs
  m.hidden_dim = 200;
  m.n_layers = 3;
  m.n_heads = 6;
  m.n_kv_heads = 3;
  m.vocab_size = 101;  // not a multiple of the 4-row block
  m.max_seq_len = 32;
  m.tied_embeddings = true;
  return m;
}

}  // namespace

TEST_CASE("fp16 matmul: the vectorized path is the reference, which is fp32 on the widened weights", "[fp16][kernel]") {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{1, 1}, {3, 15}, {4, 16}, {7, 33}, {13, 100}, {64, 768}}) {
    const auto w = normal_like(static_cast<size_t>(rows * cols), 7, 0.5f);
    std::vector<uint16_t> h(w.size());
    for (size_t i = 0; i < w.size(); ++i) h[i] = qmath::float_to_half(w[i]);
    const auto widened = rounded_to_half(w.data(), w.size());
    for (int64_t n : {1, 2, 5}) {
      INFO(rows << " x " << cols << ", " << n << " columns");
      const auto x = normal_like(static_cast<size_t>(cols * n), 11, 1.0f);
      std::vector<float> fast(static_cast<size_t>(rows * n)), ref(fast.size()), f32(fast.size());
      matmul_fp16(h.data(), rows, cols, x.data(), n, fast.data());
      matmul_fp16_reference(h.data(), rows, cols, x.data(), n, ref.data());
      matmul_fp32(widened.data(), rows, cols, x.data(), n, f32.data());
      CHECK(fast == ref);
      CHECK(ref == f32);
      // Batch-invariant: each column alone gives the bits it got in the batch.
      for (int64_t b = 0; b < n; ++b) {
        std::vector<float> alone(static_cast<size_t>(rows));
        matmul_fp16(h.data(), rows, cols, x.data() + b * cols, 1, alone.data());
        CHECK(std::equal(alone.begin(), alone.end(), fast.begin() + b * rows));
      }
    }
  }
}

TEST_CASE("fp16 weights: logits equal the fp32 model holding the fp16-rounded weights", "[fp16]") {
  const ModelSpec m = small_spec();
  const ModelWeights whole = random_weights(m, 3, ModelPart::whole(m));
  ModelWeights h = whole;
  h.quantize(16, 32);
  CHECK(h.weight_bits == 16);
  CHECK(h.head.bits() == 16);
  CHECK(h.embedding == whole.embedding);  // the embedding stays fp32 in every format
  const std::vector<int32_t> tokens{1, 5, 9, 42, 100, 7, 3};
  const Eigen::MatrixXf a = block_logits(h, tokens), b = block_logits(rounded_fp32(whole), tokens);
  // Only the storage differs and the widening is exact, so the bits agree (the brief allowed 1e-5 relative).
  const float rel = (a - b).cwiseAbs().maxCoeff() / b.cwiseAbs().maxCoeff();
  CHECK(rel == 0);
}

TEST_CASE("fp16 weights: bytes held are 2 per matrix weight and agree with the cost model's sizes", "[fp16]") {
  const ModelSpec m = small_spec();
  const ModelWeights base = random_weights(m, 3, ModelPart::whole(m));
  const int group = 32;
  for (int bits : {16, 32, 8, 4, 3, 2}) {
    INFO(bits << " bits");
    ModelWeights w = base;
    w.quantize(bits, group);
    double layers = 0;
    for (int64_t l = 0; l < m.n_layers; ++l) {
      const LayerWeights& lw = w.layers[static_cast<size_t>(l)];
      for (const Linear* q : {&lw.wq, &lw.wk, &lw.wv, &lw.wo, &lw.w1, &lw.w2, &lw.w3})
        CHECK(q->bytes() == static_cast<double>(quantized_matrix_bytes(q->rows(), q->cols(), bits,
                                                                       std::min<int>(group, static_cast<int>(q->cols())))));
      // The cost model counts the two norms in fp16; the executor keeps them in fp32 (2 B more per value).
      CHECK(lw.bytes() == m.layer_weight_bytes(bits, group) + 2.0 * static_cast<double>(m.norm_params()));
      layers += lw.bytes();
    }
    if (bits == 16) CHECK(w.layers[0].wq.bytes() == 2.0 * static_cast<double>(m.dim * m.dim));
    // Tied head: a copy of the embedding at `bits`; the embedding itself stays fp32; final norm fp32.
    CHECK(w.head.bytes() == matrix_bytes(m.vocab_size, m.dim, bits, group));
    const double emb = 4.0 * static_cast<double>(m.vocab_size * m.dim), final_norm = 4.0 * static_cast<double>(m.dim);
    CHECK(w.bytes() == emb + layers + final_norm + w.head.bytes());
  }
}

TEST_CASE("fp16 weights: bad bit-widths are input errors naming the flag", "[fp16]") {
  ModelWeights w = random_weights(small_spec(), 3, ModelPart::whole(small_spec()));
  for (int bits : {5, 1}) {
    CHECK_THROWS_WITH(w.quantize(bits, 32), Catch::Matchers::Contains("weight bits") &&
                                                Catch::Matchers::Contains("16 (fp16)") &&
                                                Catch::Matchers::Contains(std::to_string(bits)));
    ExecOptions o;
    o.model = "stories260k";
    o.steps = 2;
    o.quiet = true;
    o.edge_bits = bits;
    CHECK_THROWS_WITH(exec_local(o), Catch::Matchers::Contains("--edge-bits") && Catch::Matchers::Contains("16 (fp16)"));
    o.edge_bits = 16;
    o.cloud_bits = bits;
    CHECK_THROWS_WITH(exec_local(o), Catch::Matchers::Contains("--cloud-bits"));
    ExecCalibrationOptions co;
    co.models = {"stories260k"};
    co.bits = {16, bits};
    CHECK_THROWS_WITH(calibrate_executor(co, "test"), Catch::Matchers::Contains("--bits") &&
                                                          Catch::Matchers::Contains("16 (fp16)"));
  }
  // Converting twice is refused rather than silently re-rounding.
  w.quantize(16, 0);
  CHECK_THROWS_WITH(w.layers[0].wq.quantize(8, 32), Catch::Matchers::Contains("already 16-bit"));
}

TEST_CASE("fp16 weights on stories260K: logits close to fp32, greedy tokens compared", "[fp16][real]") {
  const auto* rm = test::real_model();
  if (!rm) return;
  ModelWeights h = rm->weights;
  h.quantize(16, 0);
  CHECK(h.bytes() < 0.75 * rm->weights.bytes());  // the embedding stays fp32
  const std::vector<int32_t> prompt = rm->tokenizer->encode("Once upon a time");
  const Eigen::MatrixXf a = block_logits(h, prompt), b = block_logits(rm->weights, prompt);
  const float max_abs = (a - b).cwiseAbs().maxCoeff(), scale = b.cwiseAbs().maxCoeff();
  const int64_t steps = 64;
  const SamplingConfig greedy{0.0, 0.9, 5};
  const auto t16 = generate_unsplit(h, prompt, steps, greedy), t32 = generate_unsplit(rm->weights, prompt, steps, greedy);
  int64_t same = 0;
  while (same < steps && t16[static_cast<size_t>(same)] == t32[static_cast<size_t>(same)]) ++same;
  fmt::print("fp16 vs fp32 weights on stories260K: max |logit difference| {:.3g} (max |logit| {:.3g}) over {} prompt "
             "positions; greedy tokens equal for the first {} of {}\n",
             max_abs, scale, prompt.size(), same, steps);
  CHECK(max_abs < 1e-2 * scale);  // fp16 keeps 11 significant bits; measured ~1e-3 relative here
  CHECK(same >= 16);
}

TEST_CASE("split fp16 at every S with a lossless wire equals the unsplit fp16 model, 1 and 3 clients", "[fp16][split][real]") {
  const auto* rm = test::real_model();
  if (!rm) return;
  ModelWeights whole = rm->weights;
  whole.quantize(16, 0);
  const std::vector<int32_t> prompt = rm->tokenizer->encode("Lily saw a big dog");
  const int64_t steps = 12;
  const SamplingConfig greedy{0.0, 0.9, 5};
  const auto want = generate_unsplit(whole, prompt, steps, greedy);
  test::check_every_split(rm->weights, 16, prompt, steps, greedy, want);
}
