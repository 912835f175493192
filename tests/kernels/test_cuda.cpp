// Kernel tests of the CUDA backend against the scalar reference: the codec bit-exact (same bytes, same decoded
// values), the quantized GEMV/GEMM within a named fp32 bound, and repeatable run to run. Tagged [gpu]: on a
// machine without a usable CUDA device (or a build without the CUDA kernels) each says so with a WARN and
// checks nothing else — `ctest -L`/`test_kernels "[gpu]"` on the GPU host runs them for real. The one test that
// runs everywhere checks that the cuda backend fails with a clear message when there is no device.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <random>

#include "kernels/activations.hpp"
#include "kernels/codec.hpp"
#include "kernels/cuda_launch.hpp"
#include "kernels/opsc.hpp"
#include "kernels/opsc_internal.hpp"
#include "kernels/opsc_tiled.hpp"
#include "kernels/quant_math.hpp"

using namespace splitsim;

namespace {

bool skip_without_gpu() {
  if (cuda_device_available()) return false;
  WARN("SKIPPED [gpu] test: no usable CUDA device (" << cuda_device_description() << ")");
  return true;
}

std::vector<float> gaussian(int64_t n, uint64_t seed, float sigma = 1.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.0f, sigma);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = nd(rng);
  return x;
}

void check_cuda_codec(const std::vector<float>& x, int64_t T, int64_t d, CodecParams p) {
  p.backend = Backend::reference;
  const std::vector<uint8_t> ref = encode(x.data(), T, d, p);
  p.backend = Backend::cuda;
  const std::vector<uint8_t> gpu = encode(x.data(), T, d, p);
  REQUIRE(gpu == ref);
  REQUIRE(encode(x.data(), T, d, p) == gpu);  // repeatable
  const DecodedBlock a = decode(ref, Backend::reference), b = decode(ref, Backend::cuda);
  REQUIRE(a.values.size() == b.values.size());
  REQUIRE(std::memcmp(a.values.data(), b.values.data(), a.values.size() * 4) == 0);
}

// |cuda - reference| of one output: each fp32 rounding of the CUDA sums (n_terms of them on the longest path)
// costs at most 2^-24 of the magnitudes summed, which sum s (q + z) |x| bounds (the test_opsc.cpp bound, with
// the CUDA kernels' own path length instead of the AVX2 path's).
double cuda_bound(const QuantizedMatrix& q, int64_t r, const float* x, double n_terms) {
  const int64_t G = q.groups_per_row();
  double mag = 0;
  for (int64_t c = 0; c < q.cols; ++c) {
    const int64_t g = c / q.group_size;
    const double s = qmath::half_to_float(q.scales[static_cast<size_t>(r * G + g)]);
    const double z = qmath::half_to_float(q.zeros[static_cast<size_t>(r * G + g)]);
    mag += s * (qmath::unpack_code(q.row_codes(r), c, q.bits) + z) * std::fabs(x[c]);
  }
  return 2 * n_terms * std::ldexp(1.0, -24) * mag + 1e-30;
}

// |tensor cores - reference| of one output: inputs and weights rounded to fp16 (2^-11 each, relative, or 2^-25
// absolute below the fp16 normal range), products exact, fp32 accumulation over cols terms (2^-22 each: the tensor
// cores' accumulator may truncate rather than round).
// w: dequantize_matrix(q).
double tensor_core_bound(const QuantizedMatrix& q, const std::vector<float>& w, int64_t r, const float* x) {
  double mag = 0, sum_w = 0, sum_x = 0;
  for (int64_t c = 0; c < q.cols; ++c) {
    const double wv = std::fabs(w[static_cast<size_t>(r * q.cols + c)]), xv = std::fabs(x[c]);
    mag += wv * xv;
    sum_w += wv;
    sum_x += xv;
  }
  return (std::ldexp(1.0, -10) + std::ldexp(1.0, -22) * static_cast<double>(q.cols + 64)) * mag +
         std::ldexp(1.0, -24) * (sum_w + sum_x) + 1e-30;
}


}  // namespace

TEST_CASE("cuda backend fails clearly without a device", "[kernels][cuda]") {
  if (cuda_device_available()) {
    WARN("a CUDA device is present (" << cuda_device_description() << "): the no-device path is not exercised");
    return;
  }
  REQUIRE_FALSE(cuda_device_description().empty());
  std::vector<float> x(64, 1.0f), y(4);
  CodecParams p;
  p.backend = Backend::cuda;
  REQUIRE_THROWS_WITH(encode(x.data(), 1, 64, p), Catch::Contains("no CUDA device"));
  const std::vector<uint8_t> wire = encode(x.data(), 1, 64, CodecParams{});
  std::vector<float> out(64);
  REQUIRE_THROWS_WITH(decode_into(wire, out, Backend::cuda), Catch::Contains("no CUDA device"));
  const QuantizedMatrix q = quantize_matrix(x.data(), 4, 16, 4, 16);
  REQUIRE_THROWS_WITH(gemv(q, x.data(), y.data(), Backend::cuda), Catch::Contains("no CUDA device"));
  REQUIRE_THROWS_WITH(gemm(q, x.data(), 1, y.data(), Backend::cuda), Catch::Contains("no CUDA device"));
}

TEST_CASE("CUDA codec: the reference's bytes and decoded values, bit for bit", "[kernels][gpu]") {
  if (skip_without_gpu()) return;
  const std::vector<std::pair<int64_t, int64_t>> shapes = {{1, 1},   {1, 7},    {3, 9},    {1, 4096}, {2, 100},
                                                           {5, 264}, {17, 513}, {64, 288}, {300, 64}, {4, 70000 / 2}};
  uint64_t seed = 100;
  for (auto [T, d] : shapes)
    for (TsMode m : {TsMode::sigma, TsMode::fixed, TsMode::percentile, TsMode::none})
      for (WireCodec c : {WireCodec::ts_tabq, WireCodec::uniform})
        for (double eps : {1e-1, 1e-3, 1e-5}) {
          if (c == WireCodec::uniform && m != TsMode::none) continue;
          CodecParams p;
          p.codec = c;
          p.ts_mode = m;
          p.ts_threshold = m == TsMode::percentile ? 0.01 : (m == TsMode::fixed ? 2.5 : 6.0);
          p.tabq_eps = eps;
          p.uniform_bits = eps > 1e-2 ? 3 : (eps > 1e-4 ? 8 : 13);
          const uint64_t sd = seed++;
          std::vector<float> x = gaussian(T * d, sd, 1.0f + static_cast<float>(sd % 5));
          for (int64_t i = 0; i < T * d; i += 37) x[static_cast<size_t>(i)] *= 40.0f;
          if (T * d > 20) {
            x[3] = NAN;
            x[5] = INFINITY;
            x[11] = 3.0e38f;
          }
          INFO("T=" << T << " d=" << d << " codec=" << wire_codec_name(c) << " ts=" << ts_mode_name(m) << " eps=" << eps);
          check_cuda_codec(x, T, d, p);
        }
  // LLM-like blocks, constant rows, a row mean far from zero.
  ActivationSpec s;
  s.T = 128;
  s.d = 4096;
  check_cuda_codec(llm_like_activations(s), s.T, s.d, CodecParams{});
  std::vector<float> x(3 * 300, 0.75f);
  for (int64_t i = 300; i < 600; ++i) x[static_cast<size_t>(i)] = 3000.0f + 0.01f * static_cast<float>(i % 17);
  check_cuda_codec(x, 3, 300, CodecParams{});
}

TEST_CASE("CUDA GEMV and GEMM agree with the reference within the fp32 bound of their summation order", "[kernels][gpu]") {
  if (skip_without_gpu()) return;
  std::mt19937_64 rng(9);
  std::normal_distribution<float> n(0.0f, 1.0f);
  for (int bits : {2, 3, 4, 8})
    for (auto [rows, cols, g] : std::vector<std::tuple<int64_t, int64_t, int>>{
             {1, 8, 8}, {13, 256, 128}, {33, 1000, 64}, {17, 96, 12}, {300, 4096, 128}}) {
      std::vector<float> w = gaussian(rows * cols, static_cast<uint64_t>(bits * 1000 + cols), 0.02f);
      const QuantizedMatrix q = quantize_matrix(w.data(), rows, cols, bits, g);
      for (int64_t T : {int64_t{1}, int64_t{5}, int64_t{40}}) {
        std::vector<float> x(static_cast<size_t>(T * cols));
        for (auto& v : x) v = n(rng);
        std::vector<float> ref(static_cast<size_t>(T * rows)), gpu(ref.size()), again(ref.size());
        gemm(q, x.data(), T, ref.data(), Backend::reference);
        gemm(q, x.data(), T, gpu.data(), Backend::cuda);
        gemm(q, x.data(), T, again.data(), Backend::cuda);
        REQUIRE(std::memcmp(gpu.data(), again.data(), gpu.size() * 4) == 0);
        INFO("bits " << bits << " " << rows << "x" << cols << " group " << g << " T " << T);
        // GEMM: 32 products per column slice, then one add per slice.
        const double gemm_terms = 32 + std::ceil(static_cast<double>(cols) / 32) + 1;
        for (int64_t t = 0; t < T; ++t)
          for (int64_t r = 0; r < rows; ++r) {
            const size_t i = static_cast<size_t>(t * rows + r);
            REQUIRE(std::fabs(gpu[i] - ref[i]) <= cuda_bound(q, r, x.data() + t * cols, gemm_terms));
          }
        // GEMV: the tiled kernel's 32 FMAs and a scale per chunk, then the chunks' sums (shuffle tree, warps);
        // the generic kernel's cols / 32 products per lane and five shuffle levels. The larger of the two.
        std::vector<float> y(static_cast<size_t>(rows));
        gemv(q, x.data(), y.data(), Backend::cuda);
        const double gemv_terms = 32 + 1 + std::ceil(static_cast<double>(cols) / 32) + 5 + 1;
        for (int64_t r = 0; r < rows; ++r)
          REQUIRE(std::fabs(y[static_cast<size_t>(r)] - ref[static_cast<size_t>(r)]) <= cuda_bound(q, r, x.data(), gemv_terms));
      }
    }
}

TEST_CASE("CUDA tiled GEMV: every launch shape, split columns and ragged rows, within the fp32 bound", "[kernels][gpu]") {
  if (skip_without_gpu()) return;
#if defined(SPLITSIM_KERNELS_CUDA)  // the launchers' own entry points exist only in builds with the CUDA kernels
  std::mt19937_64 rng(21);
  std::normal_distribution<float> n(0.0f, 1.0f);
  // 20,000 columns: two column splits; 16,385: a split of one chunk; rows not a multiple of any tile.
  for (int bits : {2, 3, 4, 8})
    for (auto [rows, cols, g] : std::vector<std::tuple<int64_t, int64_t, int>>{
             {1, 32, 32}, {77, 1000, 32}, {129, 4096, 128}, {40, 16385, 128}, {23, 20000, 64}, {1000, 2048, 256}}) {
      std::vector<float> w = gaussian(rows * cols, static_cast<uint64_t>(bits * 7919 + cols), 0.02f);
      const QuantizedMatrix q = quantize_matrix(w.data(), rows, cols, bits, g);
      std::vector<float> x(static_cast<size_t>(cols)), ref(static_cast<size_t>(rows));
      for (auto& v : x) v = n(rng);
      gemv(q, x.data(), ref.data(), Backend::reference);
      cuda_launch::ResidentMatrix* m = cuda_launch::upload_matrix(opsc_detail::packed_view(q));
      REQUIRE(cuda_launch::resident_tiled(m));
      const double terms = 32 + 1 + std::ceil(static_cast<double>(cols) / 32) + 1;
      std::vector<float> first;
      for (int v = 0; v <= cuda_launch::kGemvShapes; ++v) {
        std::vector<float> y(static_cast<size_t>(rows), NAN);  // poisoned: every row must be written
        cuda_launch::resident_gemv(m, x.data(), y.data(), v);
        INFO("bits " << bits << " " << rows << "x" << cols << " group " << g << " variant " << v);
        for (int64_t r = 0; r < rows; ++r)
          REQUIRE(std::fabs(y[static_cast<size_t>(r)] - ref[static_cast<size_t>(r)]) <= cuda_bound(q, r, x.data(), terms));
        if (v == 0) {
          first = y;
          std::vector<float> again(static_cast<size_t>(rows));
          cuda_launch::resident_gemv(m, x.data(), again.data(), 0);
          REQUIRE(std::memcmp(first.data(), again.data(), first.size() * 4) == 0);  // repeatable
        }
      }
      cuda_launch::free_matrix(m);
    }
#endif
}

TEST_CASE("CudaMatrix: resident weights, tensor-core GEMM within its fp16 bound, exact GEMM within fp32's",
          "[kernels][gpu]") {
  if (skip_without_gpu()) return;
  std::mt19937_64 rng(31);
  std::normal_distribution<float> n(0.0f, 1.0f);
  for (int bits : {2, 3, 4, 8})
    for (auto [rows, cols, g] : std::vector<std::tuple<int64_t, int64_t, int>>{
             {64, 64, 32}, {100, 1000, 64}, {257, 4096, 128}, {33, 96, 12}}) {
      std::vector<float> w = gaussian(rows * cols, static_cast<uint64_t>(bits * 31 + rows), 0.02f);
      const QuantizedMatrix q = quantize_matrix(w.data(), rows, cols, bits, g);
      const CudaMatrix m(q);
      const std::vector<float> wq = dequantize_matrix(q);
      REQUIRE(m.rows() == rows);
      REQUIRE(m.tiled() == opsc_tiled::supported(bits, g));
      REQUIRE(m.device_bytes() >= q.bytes());
      for (int64_t T : {int64_t{1}, int64_t{17}, int64_t{64}, int64_t{130}}) {
        std::vector<float> x(static_cast<size_t>(T * cols));
        for (auto& v : x) v = n(rng);
        std::vector<float> ref(static_cast<size_t>(T * rows)), tc(ref.size(), NAN), tc2(ref.size()), ex(ref.size(), NAN);
        gemm(q, x.data(), T, ref.data(), Backend::reference);
        REQUIRE(m.gemm(x.data(), T, tc.data()) > 0);
        m.gemm(x.data(), T, tc2.data());
        REQUIRE(std::memcmp(tc.data(), tc2.data(), tc.size() * 4) == 0);  // repeatable
        m.gemm(x.data(), T, ex.data(), CudaGemm::exact);
        // Every block shape and K split of the tensor-core kernel computes the same products: within the same bound.
        std::vector<std::vector<float>> shapes;
#if defined(SPLITSIM_KERNELS_CUDA)
        if (m.tiled()) {
          cuda_launch::ResidentMatrix* rm = cuda_launch::upload_matrix(opsc_detail::packed_view(q));
          for (int v = 1; v <= cuda_launch::kGemmShapes; ++v) {
            shapes.emplace_back(ref.size(), NAN);
            cuda_launch::resident_gemm(rm, x.data(), T, shapes.back().data(), cuda_launch::GemmKind::tensor_cores, v);
          }
          cuda_launch::free_matrix(rm);
        }
#endif
        const double exact_terms = 32 + std::ceil(static_cast<double>(cols) / 32) + 1;
        INFO("bits " << bits << " " << rows << "x" << cols << " group " << g << " T " << T);
        for (int64_t t = 0; t < T; ++t)
          for (int64_t r = 0; r < rows; ++r) {
            const size_t i = static_cast<size_t>(t * rows + r);
            const float* xt = x.data() + t * cols;
            REQUIRE(std::fabs(ex[i] - ref[i]) <= cuda_bound(q, r, xt, exact_terms));
            const double tc_bound = m.tiled() ? tensor_core_bound(q, wq, r, xt) : cuda_bound(q, r, xt, exact_terms);
            REQUIRE(std::fabs(tc[i] - ref[i]) <= tc_bound);
            for (const std::vector<float>& y : shapes) REQUIRE(std::fabs(y[i] - ref[i]) <= tc_bound);
          }
      }
    }
}

TEST_CASE("CUDA codec: decode-step and prefill-sized blocks, bit for bit", "[kernels][gpu]") {
  if (skip_without_gpu()) return;
  // One token (the 1,024-thread block), a mid-sized and a large block (256- and 128-thread blocks), a row too long
  // for shared memory at 8 bytes per element (the global-scratch path).
  for (auto [T, d] : std::vector<std::pair<int64_t, int64_t>>{{1, 4096}, {1, 8192}, {8, 5120}, {200, 4096}, {600, 1024}, {2, 40000}}) {
    ActivationSpec s;
    s.T = T;
    s.d = d;
    s.seed = static_cast<uint64_t>(T * 131 + d);
    const std::vector<float> x = llm_like_activations(s);
    INFO("T=" << T << " d=" << d);
    check_cuda_codec(x, T, d, CodecParams{});
    CodecParams u;
    u.codec = WireCodec::uniform;
    check_cuda_codec(x, T, d, u);
    CodecParams f;
    f.ts_mode = TsMode::fixed;
    f.ts_threshold = 3.0;
    check_cuda_codec(x, T, d, f);
  }
}
