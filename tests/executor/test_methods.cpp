// The quantization methods of executor/methods/: the simulated quantizers against their definitions and the
// kernels' quantizer, the exact byte counts, and, on the real model, that every method builds and evaluates,
// that a transformation which should not change the model does not (SmoothQuant's folding), and the orderings
// the methods exist for (OmniQuant's clipping search beats plain RTN at 2 bits; W8A8 methods stay close).
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "core/error.hpp"
#include "executor/eval.hpp"
#include "executor/linear.hpp"
#include "executor/methods/calibration.hpp"
#include "executor/methods/fake_quant.hpp"
#include "executor/methods/hidden_codec.hpp"
#include "executor/methods/method.hpp"
#include "executor/methods/method_eval.hpp"
#include "executor/methods/method_run.hpp"
#include "exec_test_util.hpp"
#include "kernels/quant_math.hpp"
#include "core/formats/wire_block.hpp"
#include "kernels/opsc.hpp"

using namespace splitsim;

namespace {

std::vector<float> normal_values(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

}  // namespace

TEST_CASE("symmetric fake quantization lands on the int grid within half a step", "[methods]") {
  auto x = normal_values(64, 1);
  x[5] = 7.5f;  // the absmax
  auto q = x;
  fake_quant_symmetric(q, 8);
  const float scale = qmath::half_to_float(qmath::half_round_up(7.5 / 127.0));
  for (size_t i = 0; i < x.size(); ++i) {
    const float code = q[i] / scale;
    CHECK(std::abs(code - std::rint(code)) < 1e-3f);
    CHECK(std::abs(code) <= 127.0f);
    CHECK(std::abs(q[i] - x[i]) <= 0.5f * scale * 1.0001f);
  }
  std::vector<float> zeros(8, 0.0f);
  fake_quant_symmetric(zeros, 4);
  for (float z : zeros) CHECK(z == 0.0f);
  // 2^(b-1) - 1 levels per sign at 4 bits: at most 15 distinct values.
  auto q4 = x;
  fake_quant_symmetric(q4, 4);
  std::sort(q4.begin(), q4.end());
  CHECK(std::unique(q4.begin(), q4.end()) - q4.begin() <= 15);
}

TEST_CASE("LLM.int8() decomposition keeps |x| > threshold in fp16 and puts the rest on one int8 grid", "[methods]") {
  auto x = normal_values(64, 2);
  x[3] = 9.0f;
  x[40] = -6.5f;
  std::vector<float> out(64);
  Int8DecompositionHook(6.0).transform(x.data(), 64, 1, out.data());
  CHECK(out[3] == 9.0f);
  CHECK(out[40] == -6.5f);
  float amax = 0;
  for (size_t i = 0; i < 64; ++i)
    if (i != 3 && i != 40) amax = std::max(amax, std::abs(x[i]));
  const float scale = qmath::half_to_float(qmath::half_round_up(amax / 127.0));
  for (size_t i = 0; i < 64; ++i) {
    if (i == 3 || i == 40) continue;
    CHECK(std::abs(out[i] - x[i]) <= 0.5f * scale * 1.0001f);
  }
}

TEST_CASE("Atom's wire format: exact bytes and 8-bit outlier channels", "[methods]") {
  AtomLayout a;
  a.outliers = {0, 9};
  for (int32_t j = 1; j < 64; ++j)
    if (j != 9) a.normal.push_back(j);
  a.bits = 4;
  a.group = 32;
  a.clip = 1.0;
  // 16 B header; per token 2 B outlier scale + 2 outlier codes + 2 groups x (fp16 min + step) + 62 codes x 4 bits.
  CHECK(atom_wire_bytes(a, 1) == 16 + 2 + 2 + 2 * 4 + 31);
  CHECK(atom_wire_bytes(a, 10) == 16 + 10 * (2 + 2 + 8 + 31));
  CHECK(atom_wire_metadata_bytes(a, 10) == 16 + 10 * (2 + 8));
  Eigen::MatrixXf x = Eigen::Map<Eigen::MatrixXf>(normal_values(64 * 3, 3).data(), 64, 3);
  x(0, 0) = 40.0f;  // a massive channel that would ruin a 4-bit range
  x(9, 1) = -25.0f;
  Eigen::MatrixXf y = x;
  AtomHiddenCodec codec(a);
  CHECK(codec.round_trip(y) == atom_wire_bytes(a, 3));
  CHECK(std::abs(y(0, 0) - 40.0f) < 40.0f / 127);
  CHECK(std::abs(y(9, 1) + 25.0f) < 25.0f / 127);
  // The normal channels are 4-bit per group of 32: within half a step of a range of about 6 sigma.
  double err = 0, ref = 0;
  for (int32_t j : a.normal)
    for (int c = 0; c < 3; ++c) {
      err += std::pow(y(j, c) - x(j, c), 2);
      ref += std::pow(x(j, c), 2);
    }
  CHECK(err / ref < 0.02);
  CHECK(err / ref > 0);
}

TEST_CASE("the simulated group quantizer is the kernels' OPSC quantizer, with and without clipping", "[methods]") {
  const int64_t rows = 8, cols = 96;
  const auto w = normal_values(static_cast<size_t>(rows * cols), 4, 0.05f);
  for (int bits : {2, 3, 4, 8})
    for (double clip : {1.0, 0.8}) {
      std::vector<float> clamped = w, fake = w;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t g = 0; g < cols; g += 32) {
          float lo = w[r * cols + g], hi = lo;
          for (int64_t i = g; i < g + 32; ++i) {
            lo = std::min(lo, w[r * cols + i]);
            hi = std::max(hi, w[r * cols + i]);
          }
          for (int64_t i = g; i < g + 32; ++i)
            clamped[r * cols + i] = std::clamp(w[r * cols + i], static_cast<float>(clip * lo), static_cast<float>(clip * hi));
        }
      const auto kernel = dequantize_matrix(quantize_matrix(clamped.data(), rows, cols, bits, 32));
      const double bytes = fake_quant_weight_groups(fake.data(), rows, cols, bits, 32, clip, clip);
      CHECK(bytes == static_cast<double>(quantized_matrix_bytes(rows, cols, bits, 32)));
      INFO("bits " << bits << " clip " << clip);
      CHECK(fake == kernel);
    }
}

TEST_CASE("method settings and names are checked", "[methods]") {
  CHECK_THROWS_AS(find_method("gptq"), InputError);
  CHECK(method_names().size() == 6);
  MethodSettings s;
  s.edge_bits = 5;
  CHECK_THROWS_AS(s.validate(), InputError);
  s.edge_bits = 4;
  s.wire_codec = WireCodec::uniform;
  s.wire.uniform_bits = 1;
  CHECK_THROWS_AS(s.validate(), InputError);
  CHECK_THROWS_AS(parse_wire_codec("zip"), InputError);
  AccuracySweepOptions a;
  a.quick = true;
  auto grid = accuracy_sweep_grid(a, 5, 32);
  CHECK(grid.size() == 9);  // rtn, omniquant-lwc and opsc at 4/4 and 4/8; smoothquant, atom, llm-int8
  for (const auto& p : grid) CHECK(p.split == 2);
  a.splits = {5};
  CHECK_THROWS_AS(accuracy_sweep_grid(a, 5, 32), InputError);
}

// ---------------------------------------------------------------------------------------------- real model

namespace {

struct RealSetup {
  const test::RealModel* rm;
  std::vector<std::vector<int32_t>> streams, calib_streams;
  std::unique_ptr<Calibration> calib;
  int64_t positions() const {
    int64_t n = 0;
    for (const auto& s : streams) n += static_cast<int64_t>(s.size()) - 1;
    return n;
  }
};

const RealSetup* real_setup() {
  static std::unique_ptr<RealSetup> s = []() -> std::unique_ptr<RealSetup> {
    const auto* rm = test::real_model();
    if (!rm) return nullptr;
    auto r = std::make_unique<RealSetup>();
    r->rm = rm;
    r->streams = sample_streams(rm->weights, 4, 64, 7);
    r->calib_streams = sample_streams(rm->weights, 4, 64, 1000);
    r->calib = std::make_unique<Calibration>(rm->weights, r->calib_streams);
    return r;
  }();
  return s.get();
}

MethodEvalResult run(const RealSetup& r, const char* method, int64_t split, int e, int c) {
  MethodSettings s;
  s.method = method;
  s.split = split;
  s.edge_bits = e;
  s.cloud_bits = c;
  s.group_size = 32;
  return evaluate_method(r.rm->weights, s, r.calib.get(), r.streams);
}

}  // namespace

TEST_CASE("calibration records every layer's matrix inputs from the fp32 model", "[methods][real]") {
  const auto* r = real_setup();
  if (!r) return;
  const ModelSpec& m = r->rm->weights.spec;
  int64_t tokens = 0;
  for (const auto& s : r->calib_streams) tokens += static_cast<int64_t>(s.size());
  CHECK(tokens > 4 * 32);
  CHECK(r->calib->tokens() == tokens);
  const LayerInputs& l0 = r->calib->layer(0);
  CHECK(l0.attn_in.rows() == m.dim);
  CHECK(l0.attn_in.cols() == tokens);
  CHECK(l0.ffn_mid.rows() == m.hidden_dim);
  // The first token of a stream is BOS: layer 0's attention input there is rmsnorm(embedding[BOS]) ⊙ w.
  const float* e = r->rm->weights.embedding.data() + kBosToken * m.dim;
  double ss = 0;
  for (int64_t j = 0; j < m.dim; ++j) ss += double(e[j]) * e[j];
  const double inv = 1.0 / std::sqrt(ss / double(m.dim) + m.norm_eps);
  for (int64_t j = 0; j < m.dim; ++j)
    CHECK(l0.attn_in(j, 0) == Approx(r->rm->weights.layers[0].rms_att[static_cast<size_t>(j)] * inv * e[j]).margin(1e-5));
  CHECK(r->calib->hidden(2).cols() == tokens);
}

TEST_CASE("without quantization, SmoothQuant's folded model and an fp32 wire reproduce the fp32 model", "[methods][real]") {
  const auto* r = real_setup();
  if (!r) return;
  MethodSettings s;
  s.method = "smoothquant";
  s.split = 2;
  s.edge_bits = s.cloud_bits = 32;
  s.act_bits = 0;
  s.wire_codec = WireCodec::fp32;
  MethodEvalResult e = evaluate_method(r->rm->weights, s, r->calib.get(), r->streams);
  // Only the fp16 embedding and head differ from the reference.
  CHECK(e.eval.mean_kl < 1e-5);
  CHECK(e.eval.agreement > 0.99);
}

TEST_CASE("every method builds and evaluates on the real model with the bytes its formats define", "[methods][real]") {
  const auto* r = real_setup();
  if (!r) return;
  const ModelSpec& m = r->rm->weights.spec;
  for (const auto& name : method_names()) {
    MethodEvalResult e = run(*r, name.c_str(), 2, -1, -1);
    fmt::print("{:<14} w {}/{} a {}: KL {:.4f}, agreement {:.1f}%, wire {:.2f} bits/element ({:.2f} payload)\n", name,
               e.settings.edge_bits, e.settings.cloud_bits, e.settings.act_bits, e.eval.mean_kl, 100 * e.eval.agreement,
               e.eval.wire_bits_per_element, e.wire_payload_bits_per_element);
    INFO(name);
    CHECK(e.eval.positions == r->positions());
    CHECK(std::isfinite(e.eval.mean_kl));
    CHECK(e.eval.mean_kl > 0);
    CHECK(e.edge.bits_per_weight() >= e.settings.edge_bits);
    CHECK(e.edge.bits_per_weight() < e.settings.edge_bits + 2);
    CHECK(e.wire_payload_bits_per_element < e.eval.wire_bits_per_element);
  }
  // Byte counts that can be written down: rtn 4-bit groups of 32 and the 8-bit uniform wire on d = 64.
  MethodEvalResult rtn = run(*r, "rtn", 2, 4, 4);
  auto qmb = [](int64_t rows, int64_t cols) { return static_cast<double>(quantized_matrix_bytes(rows, cols, 4, 32)); };
  const double layer_bytes = 2 * qmb(m.dim, m.dim) + 2 * qmb(m.kv_dim(), m.dim)  // wq, wo; wk, wv
                             + 2 * qmb(m.hidden_dim, m.dim) + qmb(m.dim, m.hidden_dim);  // w1, w3; w2
  CHECK(rtn.edge.linear_bytes == Approx(2 * layer_bytes));
  CHECK(rtn.eval.wire_bytes_per_token == 16 + 5 + 64);
  CHECK(rtn.wire_payload_bits_per_element == 8.0);
  int64_t longest = 0;
  for (const auto& s : r->streams) longest = std::max<int64_t>(longest, static_cast<int64_t>(s.size()));
  CHECK(rtn.edge_kv_bytes == 2.0 * 2 * static_cast<double>(m.kv_dim() * longest) * 2);
}

TEST_CASE("the methods' orderings on the real model", "[methods][real]") {
  const auto* r = real_setup();
  if (!r) return;
  // OmniQuant's clipping search minimizes the layer output error RTN ignores: at 2 bits it must win clearly.
  MethodEvalResult rtn2 = run(*r, "rtn", 2, 2, 2), lwc2 = run(*r, "omniquant-lwc", 2, 2, 2);
  fmt::print("2-bit weights: rtn KL {:.3f}, omniquant-lwc KL {:.3f}\n", rtn2.eval.mean_kl, lwc2.eval.mean_kl);
  CHECK(lwc2.eval.mean_kl < 0.7 * rtn2.eval.mean_kl);
  // W8A8 methods stay close to the fp32 model.
  CHECK(run(*r, "smoothquant", 2, 8, 8).eval.mean_kl < 0.01);
  CHECK(run(*r, "llm-int8", 2, 8, 8).eval.mean_kl < 0.01);
  // Atom's 8-bit outlier channels: fewer of them (none) must not help at 4-bit activations.
  MethodSettings a;
  a.method = "atom";
  a.split = 2;
  a.group_size = 32;
  MethodEvalResult with = evaluate_method(r->rm->weights, a, r->calib.get(), r->streams);
  a.outlier_fraction = 0;
  MethodEvalResult without = evaluate_method(r->rm->weights, a, r->calib.get(), r->streams);
  fmt::print("atom W4A4: KL {:.3f} with outlier channels, {:.3f} without\n", with.eval.mean_kl, without.eval.mean_kl);
  CHECK(with.eval.mean_kl < without.eval.mean_kl);
}

TEST_CASE("calibration seeds must differ from the evaluation seeds", "[methods][real]") {
  const auto* r = real_setup();
  if (!r) return;
  ExecOptions o;
  o.checkpoint = r->rm->dir + "/stories260K.bin";
  o.split = 2;
  o.streams = 4;
  o.stream_seed = 7;
  o.quiet = true;
  o.out = (std::filesystem::temp_directory_path() / "splitsim-test-methods-seeds").string();
  MethodSettings s;
  s.method = "smoothquant";
  CalibrationOptions c;
  c.seed = 9;  // 9..16 overlaps 7..10
  CHECK_THROWS_AS(exec_method_eval(o, s, c), InputError);
  CHECK_FALSE(std::filesystem::exists(o.out));
}
