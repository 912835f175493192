// Kernel tests of the wire codec: the vectorized CPU path against the scalar reference (bit-exact bytes and
// identical decoded values), round-trip bounds that follow from the definitions, exact sizes, the NaN/Inf
// policy, and clear failures on corrupt input.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <random>

#include "core/error.hpp"
#include "kernels/activations.hpp"
#include "kernels/codec.hpp"
#include "kernels/quant_math.hpp"

using namespace splitsim;

namespace {

std::vector<float> gaussian(int64_t n, uint64_t seed, float sigma = 1.0f, float mean = 0.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(mean, sigma);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = nd(rng);
  return x;
}

CodecParams params(WireCodec c, TsMode m, double thr, Backend b) {
  CodecParams p;
  p.codec = c;
  p.ts_mode = m;
  p.ts_threshold = thr;
  p.backend = b;
  return p;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}

// Encodes with reference and cpu, checks identical bytes, the exact size, and identical decodes by both.
std::vector<float> check_backends_agree(const std::vector<float>& x, int64_t T, int64_t d, CodecParams p) {
  p.backend = Backend::reference;
  const std::vector<uint8_t> ref = encode(x.data(), T, d, p);
  p.backend = Backend::cpu;
  const std::vector<uint8_t> cpu = encode(x.data(), T, d, p);
  REQUIRE(ref == cpu);
  p.threads = 3;
  REQUIRE(encode(x.data(), T, d, p) == ref);
  REQUIRE(static_cast<int64_t>(ref.size()) == encoded_size(analyze(x.data(), T, d, p)));
  const EncodePlan plan = analyze(x.data(), T, d, p);
  REQUIRE(static_cast<int64_t>(ref.size()) == encoded_size(p.codec, d, plan.bits, plan.outliers));
  const DecodedBlock a = decode(ref, Backend::reference), b = decode(ref, Backend::cpu);
  REQUIRE(a.T == T);
  REQUIRE(a.d == d);
  REQUIRE(same_bits(a.values, b.values));
  std::vector<float> c(static_cast<size_t>(T * d));
  decode_into(ref, c, Backend::cpu, 4);
  REQUIRE(same_bits(a.values, c));
  return a.values;
}

struct RowHeader {
  int bits;
  float min, delta;
  int n_out;
};
std::vector<RowHeader> row_headers(const std::vector<uint8_t>& wire) {
  const WireBlockHeader h = read_block_header(wire.data());
  const bool ts = h.codec == static_cast<uint8_t>(WireCodec::ts_tabq);
  const int64_t hdr = token_header_bytes(static_cast<WireCodec>(h.codec));
  std::vector<RowHeader> rows;
  for (uint32_t t = 0; t < h.T; ++t) {
    const TokenHeader th = read_token_header(wire.data() + kWireHeaderBytes + t * hdr, ts);
    rows.push_back({th.bits, qmath::half_to_float(th.min_h), qmath::half_to_float(th.delta_h), th.n_out});
  }
  return rows;
}

}  // namespace

TEST_CASE("reference and cpu codecs produce identical bytes and values over many shapes", "[kernels][codec]") {
  const std::vector<std::pair<int64_t, int64_t>> shapes = {{1, 1},   {1, 7},   {1, 8},    {3, 9},    {1, 4096},
                                                           {2, 100}, {5, 264}, {17, 513}, {64, 288}, {300, 64}};
  const std::vector<CodecParams> configs = {
      params(WireCodec::ts_tabq, TsMode::sigma, 6.0, Backend::cpu),
      params(WireCodec::ts_tabq, TsMode::sigma, 3.0, Backend::cpu),
      params(WireCodec::ts_tabq, TsMode::fixed, 2.5, Backend::cpu),
      params(WireCodec::ts_tabq, TsMode::percentile, 0.01, Backend::cpu),
      params(WireCodec::ts_tabq, TsMode::none, 0, Backend::cpu),
      params(WireCodec::uniform, TsMode::none, 0, Backend::cpu),
      params(WireCodec::fp16, TsMode::none, 0, Backend::cpu),
      params(WireCodec::fp32, TsMode::none, 0, Backend::cpu),
  };
  uint64_t seed = 1;
  for (auto [T, d] : shapes)
    for (CodecParams p : configs)
      for (double eps : {1e-1, 1e-3, 1e-5}) {
        p.tabq_eps = eps;
        p.uniform_bits = eps > 1e-2 ? 3 : (eps > 1e-4 ? 8 : 13);
        const uint64_t s = seed++;
        std::vector<float> x = gaussian(T * d, s, 1.0f + static_cast<float>(s % 5));
        for (int64_t i = 0; i < T * d; i += 37) x[static_cast<size_t>(i)] *= 40.0f;  // some outliers
        INFO("T=" << T << " d=" << d << " codec=" << wire_codec_name(p.codec) << " ts=" << ts_mode_name(p.ts_mode)
                  << " eps=" << eps);
        check_backends_agree(x, T, d, p);
      }
}

TEST_CASE("LLM-like blocks: T=1 decode rows and long prefill blocks agree bit for bit", "[kernels][codec]") {
  for (int64_t T : {int64_t{1}, int64_t{2}, int64_t{512}}) {
    ActivationSpec s;
    s.T = T;
    s.d = T == 512 ? 1024 : 4096;
    s.seed = static_cast<uint64_t>(T);
    const std::vector<float> x = llm_like_activations(s);
    for (TsMode m : {TsMode::sigma, TsMode::fixed, TsMode::percentile})
      check_backends_agree(x, s.T, s.d, params(WireCodec::ts_tabq, m, m == TsMode::percentile ? 0.002 : 6.0, Backend::cpu));
  }
}

TEST_CASE("round trip: dense values within delta/2, outliers exact fp16", "[kernels][codec]") {
  ActivationSpec s;
  s.T = 33;
  s.d = 1000;
  const std::vector<float> x = llm_like_activations(s);
  for (TsMode m : {TsMode::sigma, TsMode::fixed, TsMode::percentile, TsMode::none}) {
    CodecParams p = params(WireCodec::ts_tabq, m, m == TsMode::percentile ? 0.01 : 6.0, Backend::cpu);
    const std::vector<uint8_t> wire = encode(x.data(), s.T, s.d, p);
    const std::vector<RowHeader> rows = row_headers(wire);
    const std::vector<float> y = decode(wire).values;
    int64_t outliers = 0;
    for (int64_t t = 0; t < s.T; ++t) {
      const RowHeader& h = rows[static_cast<size_t>(t)];
      outliers += h.n_out;
      for (int64_t i = 0; i < s.d; ++i) {
        const float xv = x[static_cast<size_t>(t * s.d + i)], yv = y[static_cast<size_t>(t * s.d + i)];
        const bool exact = yv == qmath::half_to_float(qmath::float_to_half(xv));
        const float span = h.bits ? h.delta * static_cast<float>((1u << h.bits) - 1u) : 0.0f;
        const bool within = std::fabs(yv - xv) <= 0.5f * h.delta + 4 * std::ldexp(1.0f, -24) *
                                                                        (std::fabs(h.min) + std::fabs(xv) + span);
        INFO("mode " << ts_mode_name(m) << " t=" << t << " i=" << i << " x=" << xv << " y=" << yv);
        REQUIRE((exact || within));
      }
    }
    if (m != TsMode::none) REQUIRE(outliers >= s.T * 6);  // the six fixed outlier channels, every token
    if (m == TsMode::none) REQUIRE(outliers == 0);
  }
}

TEST_CASE("TS modes pick the outliers their definitions name", "[kernels][codec]") {
  const int64_t T = 4, d = 512;
  std::vector<float> x = gaussian(T * d, 42);
  for (auto& v : x) v = std::clamp(v, -3.0f, 3.0f);
  for (int64_t t = 0; t < T; ++t) {
    x[static_cast<size_t>(t * d + 10)] = 1000.0f;   // huge
    x[static_cast<size_t>(t * d + 200)] = -30.0f;   // moderate: hidden behind sigma inflated by the huge one
  }
  SECTION("fixed: exactly |x| > tau") {
    const auto rows = row_headers(encode(x.data(), T, d, params(WireCodec::ts_tabq, TsMode::fixed, 2.5, Backend::cpu)));
    for (int64_t t = 0; t < T; ++t) {
      int expect = 0;
      for (int64_t i = 0; i < d; ++i) expect += std::fabs(x[static_cast<size_t>(t * d + i)]) > 2.5f;
      REQUIRE(rows[static_cast<size_t>(t)].n_out == expect);
    }
  }
  SECTION("sigma: one clipping iteration finds the moderate outlier, a single pass does not") {
    CodecParams p = params(WireCodec::ts_tabq, TsMode::sigma, 6.0, Backend::cpu);
    p.sigma_iterations = 1;
    for (const auto& r : row_headers(encode(x.data(), T, d, p))) REQUIRE(r.n_out == 1);
    p.sigma_iterations = 2;
    for (const auto& r : row_headers(encode(x.data(), T, d, p))) REQUIRE(r.n_out == 2);
  }
  SECTION("percentile: floor(rho * T * d) largest |x| of the block") {
    const double rho = 8.0 / static_cast<double>(T * d);  // the 8 planted values
    int total = 0;
    for (const auto& r : row_headers(encode(x.data(), T, d, params(WireCodec::ts_tabq, TsMode::percentile, rho, Backend::cpu))))
      total += r.n_out;
    REQUIRE(total == 8);
  }
}

TEST_CASE("all-equal rows, rows without outliers and very large outliers", "[kernels][codec]") {
  const int64_t T = 4, d = 300;
  std::vector<float> x(static_cast<size_t>(T * d), 0.75f);             // row 0: all equal
  for (int64_t i = 0; i < d; ++i) x[static_cast<size_t>(d + i)] = -2.0f;  // row 1: all equal, negative
  std::vector<float> g = gaussian(d, 3);
  std::copy(g.begin(), g.end(), x.begin() + 2 * d);  // row 2: no outliers at 6 sigma
  std::copy(g.begin(), g.end(), x.begin() + 3 * d);
  x[static_cast<size_t>(3 * d + 5)] = 6.0e4f;       // row 3: outlier near the top of fp16
  x[static_cast<size_t>(3 * d + 6)] = 3.0e38f;      // and one far beyond it: saturates to 65504
  const CodecParams p = params(WireCodec::ts_tabq, TsMode::sigma, 6.0, Backend::cpu);
  const std::vector<float> y = check_backends_agree(x, T, d, p);
  const auto rows = row_headers(encode(x.data(), T, d, p));
  CHECK(rows[0].bits == 0);
  CHECK(rows[1].bits == 0);
  CHECK(rows[2].n_out == 0);
  CHECK(rows[3].n_out == 2);
  for (int64_t i = 0; i < d; ++i) {
    REQUIRE(y[static_cast<size_t>(i)] == 0.75f);
    REQUIRE(y[static_cast<size_t>(d + i)] == -2.0f);
  }
  CHECK(y[static_cast<size_t>(3 * d + 5)] == 60000.0f);
  CHECK(y[static_cast<size_t>(3 * d + 6)] == 65504.0f);
  // Uniform at one width: constant rows still send bits = 0, the others the configured width.
  CodecParams u = params(WireCodec::uniform, TsMode::none, 0, Backend::cpu);
  u.uniform_bits = 5;
  const auto urows = row_headers(encode(x.data(), T, d, u));
  CHECK(urows[0].bits == 0);
  CHECK(urows[2].bits == 5);
}

TEST_CASE("NaN/Inf policy", "[kernels][codec]") {
  const int64_t T = 3, d = 64;
  std::vector<float> x = gaussian(T * d, 8);
  x[3] = NAN;
  x[4] = INFINITY;
  x[5] = -INFINITY;
  x[d + 9] = NAN;
  x[2 * d + 1] = INFINITY;
  SECTION("ts_tabq with TS: non-finite values are outliers and arrive exactly") {
    for (TsMode m : {TsMode::sigma, TsMode::fixed, TsMode::percentile}) {
      const std::vector<float> y = check_backends_agree(x, T, d, params(WireCodec::ts_tabq, m, m == TsMode::percentile ? 0.0 : 6.0, Backend::cpu));
      REQUIRE(std::isnan(y[3]));
      REQUIRE(y[4] == INFINITY);
      REQUIRE(y[5] == -INFINITY);
      REQUIRE(std::isnan(y[static_cast<size_t>(d + 9)]));
      REQUIRE(y[static_cast<size_t>(2 * d + 1)] == INFINITY);
      for (size_t i = 0; i < y.size(); ++i)  // the finite rest stays finite and close
        if (std::isfinite(x[i])) REQUIRE(std::fabs(y[i] - x[i]) < 0.5f);
    }
  }
  SECTION("modes without outliers: NaN counts as 0, Inf is clamped to the fp16 range") {
    for (WireCodec c : {WireCodec::uniform, WireCodec::ts_tabq}) {
      CodecParams p = params(c, TsMode::none, 0, Backend::cpu);
      p.uniform_bits = 16;
      p.tabq_bits = {16};
      const std::vector<float> y = check_backends_agree(x, T, d, p);
      const auto rows = row_headers(encode(x.data(), T, d, p));
      REQUIRE(std::fabs(y[3]) <= 0.5f * rows[0].delta * 1.001f);        // NaN -> 0
      REQUIRE(std::fabs(y[4] - 65504.0f) <= 0.5f * rows[0].delta * 1.001f);
      REQUIRE(std::fabs(y[5] + 65504.0f) <= 0.5f * rows[0].delta * 1.001f);
      for (float v : y) REQUIRE(std::isfinite(v));
    }
  }
  SECTION("fp16: IEEE conversion; fp32: bits as they are") {
    const std::vector<float> h = check_backends_agree(x, T, d, params(WireCodec::fp16, TsMode::none, 0, Backend::cpu));
    REQUIRE(std::isnan(h[3]));
    REQUIRE(h[4] == INFINITY);
    std::vector<float> big = {1e6f, -1e6f, 65519.0f};
    const std::vector<float> hb = check_backends_agree(big, 1, 3, params(WireCodec::fp16, TsMode::none, 0, Backend::cpu));
    REQUIRE(hb[0] == INFINITY);
    REQUIRE(hb[1] == -INFINITY);
    REQUIRE(hb[2] == 65504.0f);
    const std::vector<float> f = check_backends_agree(x, T, d, params(WireCodec::fp32, TsMode::none, 0, Backend::cpu));
    REQUIRE(std::memcmp(f.data(), x.data(), x.size() * 4) == 0);
  }
}

TEST_CASE("negative zero does not change the header", "[kernels][codec]") {
  std::vector<float> x(64, 1.0f);
  for (int i = 0; i < 64; i += 3) x[static_cast<size_t>(i)] = (i % 2) ? -0.0f : 0.0f;
  check_backends_agree(x, 1, 64, params(WireCodec::ts_tabq, TsMode::none, 0, Backend::cpu));
}

TEST_CASE("encoded sizes follow core/formats/wire_block.hpp for every codec", "[kernels][codec]") {
  const int64_t T = 7, d = 333;
  const std::vector<float> x = gaussian(T * d, 77);
  CHECK(encode(x.data(), T, d, params(WireCodec::fp32, TsMode::none, 0, Backend::cpu)).size() ==
        static_cast<size_t>(encoded_size_dense(WireCodec::fp32, T, d)));
  CHECK(encode(x.data(), T, d, params(WireCodec::fp16, TsMode::none, 0, Backend::cpu)).size() == 16 + 2 * T * d);
  CodecParams u = params(WireCodec::uniform, TsMode::none, 0, Backend::cpu);
  u.uniform_bits = 6;
  CHECK(encode(x.data(), T, d, u).size() == static_cast<size_t>(16 + T * (5 + (d * 6 + 7) / 8)));
  CHECK(expected_encoded_size(WireCodec::uniform, T, d, 6, 0) == static_cast<double>(encode(x.data(), T, d, u).size()));
  // An empty block is a header.
  CHECK(encode(x.data(), 0, d, params(WireCodec::ts_tabq, TsMode::sigma, 6, Backend::cpu)).size() == 16);
}

TEST_CASE("decode rejects corrupt blocks with a clear error", "[kernels][codec]") {
  const int64_t T = 5, d = 96;
  std::vector<float> x = gaussian(T * d, 5);
  x[7] = 50.0f;
  x[d + 8] = -60.0f;
  const std::vector<uint8_t> good = encode(x.data(), T, d, params(WireCodec::ts_tabq, TsMode::sigma, 4.0, Backend::cpu));
  REQUIRE_NOTHROW(decode(good));
  auto expect_error = [](std::vector<uint8_t> w, const std::string& needle) {
    try {
      decode(w);
      FAIL("decode accepted a corrupt block (" << needle << ")");
    } catch (const InputError& e) {
      INFO(e.what());
      REQUIRE(std::string(e.what()).find("wire block") != std::string::npos);
      REQUIRE(std::string(e.what()).find(needle) != std::string::npos);
    }
  };
  expect_error({good.begin(), good.begin() + 10}, "truncated");
  expect_error({good.begin(), good.end() - 1}, "bytes, expected");
  auto w = good;
  w.push_back(0);
  expect_error(w, "bytes, expected");
  w = good;
  w[0] ^= 1;
  expect_error(w, "magic");
  w = good;
  w[4] = 9;
  expect_error(w, "version");
  w = good;
  w[5] = 7;
  expect_error(w, "codec");
  w = good;
  w[6] = 1;
  expect_error(w, "flags");
  w = good;
  w[16] = 1;  // token 0 bits
  expect_error(w, "bit-width");
  w = good;
  w[8] = 0xFF;  // T huge
  expect_error(w, "truncated");
  // Outlier column out of range / out of order: find the first outlier (after all codes).
  const auto rows = row_headers(good);
  int64_t off = 16 + T * 7;
  for (const auto& r : rows) off += (d * r.bits + 7) / 8;
  REQUIRE(rows[0].n_out + rows[1].n_out >= 2);
  w = good;
  w[static_cast<size_t>(off)] = 0xFF;
  w[static_cast<size_t>(off + 1)] = 0xFF;
  expect_error(w, "outlier column");
  // A wrong output size is an input error too, and nothing is read from a too-short span.
  std::vector<float> small(10);
  REQUIRE_THROWS_AS(decode_into(good, small), InputError);
}

TEST_CASE("codec parameters are validated with named keys", "[kernels][codec]") {
  std::vector<float> x(16, 1.0f);
  CodecParams p;
  p.tabq_bits = {1, 4};
  REQUIRE_THROWS_WITH(encode(x.data(), 2, 8, p), Catch::Contains("tabq_bits"));
  p = CodecParams{};
  p.ts_mode = TsMode::percentile;
  p.ts_threshold = 2.0;
  REQUIRE_THROWS_WITH(encode(x.data(), 2, 8, p), Catch::Contains("fraction"));
  p = CodecParams{};
  p.codec = WireCodec::uniform;
  p.uniform_bits = 17;
  REQUIRE_THROWS_WITH(encode(x.data(), 2, 8, p), Catch::Contains("uniform_bits"));
  REQUIRE_THROWS_AS(parse_ts_mode("median"), InputError);
  REQUIRE(parse_wire_codec("ts-tabq") == WireCodec::ts_tabq);
}

TEST_CASE("compression on LLM-like activations: TS + TAB-Q beats per-token uniform", "[kernels][codec]") {
  ActivationSpec s;
  s.T = 32;
  s.d = 4096;
  const std::vector<float> x = llm_like_activations(s);
  CodecParams p = params(WireCodec::ts_tabq, TsMode::sigma, 6.0, Backend::cpu);
  p.tabq_eps = 0.3;  // relative MSE is over the whole block, whose energy the outlier channels dominate
  const CodecStats ts = measure_codec(x.data(), s.T, s.d, p);
  REQUIRE(ts.relative_mse <= 1e-2);
  REQUIRE(ts.bits_per_element <= 5.5);
  // The cheapest uniform width that reaches the same error.
  double uniform_bits = 0;
  for (int b = 2; b <= 16; ++b) {
    CodecParams u = params(WireCodec::uniform, TsMode::none, 0, Backend::cpu);
    u.uniform_bits = b;
    const CodecStats us = measure_codec(x.data(), s.T, s.d, u);
    if (us.relative_mse <= ts.relative_mse) {
      uniform_bits = us.bits_per_element;
      break;
    }
  }
  INFO("ts_tabq " << ts.bits_per_element << " bits at rel. MSE " << ts.relative_mse << "; uniform " << uniform_bits);
  REQUIRE(uniform_bits > 0);
  REQUIRE(ts.bits_per_element * 2 <= uniform_bits);
}

TEST_CASE("sigma statistics leave values beyond the fp16 range out, and pivot away a large row mean", "[kernels][codec]") {
  const int64_t d = 256;
  std::vector<float> x = gaussian(2 * d, 17);
  x[40] = 1.0e30f;  // row 0: one finite value the dense part cannot carry
  x[41] = 9.0f;     // and a moderate outlier (9 sigma)
  for (int64_t i = 0; i < d; ++i) x[static_cast<size_t>(d + i)] = 3000.0f + 0.25f * x[static_cast<size_t>(d + i)];
  CodecParams p = params(WireCodec::ts_tabq, TsMode::sigma, 6.0, Backend::cpu);
  p.sigma_iterations = 1;  // a single pass: with 1e30 in the statistics sigma would hide the 9-sigma value
  check_backends_agree(x, 2, d, p);
  const auto rows = row_headers(encode(x.data(), 2, d, p));
  CHECK(rows[0].n_out == 2);
  // Row 1: mean 3000, sigma 0.25. A float sum of squares without a pivot loses sigma^2 entirely (x^2 ~ 9e6
  // against a variance of 0.06); with it the threshold 3000 + 6 * 0.25 flags nothing of a Gaussian row, and the
  // TAB-Q variance is the row's, so the 8-bit budget is met as it would be in exact arithmetic.
  CHECK(rows[1].n_out == 0);
  p.sigma_iterations = 2;
  p.tabq_bits = {2, 3, 4, 5, 6, 7, 8};
  const auto rows2 = row_headers(encode(x.data(), 2, d, p));
  double s = 0, q = 0;
  float lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < d; ++i) {
    const double v = x[static_cast<size_t>(d + i)];
    s += v;
    lo = std::min(lo, x[static_cast<size_t>(d + i)]);
    hi = std::max(hi, x[static_cast<size_t>(d + i)]);
  }
  for (int64_t i = 0; i < d; ++i) q += std::pow(x[static_cast<size_t>(d + i)] - s / d, 2);
  const int allowed[] = {2, 3, 4, 5, 6, 7, 8};
  CHECK(rows2[1].bits == qmath::tabq_choose_bits(static_cast<double>(hi) - lo, q / d, p.tabq_eps, allowed, 7));
}
