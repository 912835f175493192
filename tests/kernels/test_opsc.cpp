// Kernel tests of OPSC weights: the packed size is the one weight_format.hpp defines, the round trip stays within
// scale/2, and the vectorized GEMV/GEMM agree with the double-accumulated scalar reference within a bound
// derived from fp32 summation error.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "core/error.hpp"
#include "kernels/opsc.hpp"
#include "kernels/quant_math.hpp"

using namespace splitsim;

namespace {

std::vector<float> random_matrix(int64_t rows, int64_t cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> n(0.0f, 0.02f);
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (auto& v : w) v = n(rng);
  for (size_t i = 0; i < w.size(); i += 101) w[i] *= 30.0f;  // weight outliers stretch some groups
  return w;
}

// Worst-case fp32 summation error of the fused GEMV: every term of every group sum, with n ~ cols/8 sequential
// additions per lane plus the group and lane reductions, each contributing at most 2^-24 relative.
double gemv_bound(const QuantizedMatrix& q, int64_t r, const float* x) {
  const int64_t G = q.groups_per_row();
  double mag = 0;
  for (int64_t c = 0; c < q.cols; ++c) {
    const int64_t g = c / q.group_size;
    const double s = qmath::half_to_float(q.scales[static_cast<size_t>(r * G + g)]);
    const double z = qmath::half_to_float(q.zeros[static_cast<size_t>(r * G + g)]);
    mag += s * (qmath::unpack_code(q.row_codes(r), c, q.bits) + z) * std::fabs(x[c]);
  }
  const double n = static_cast<double>(q.group_size) / 8 + static_cast<double>(G) + 16;
  return 2 * n * std::ldexp(1.0, -24) * mag + 1e-30;
}

}  // namespace

TEST_CASE("packed matrices occupy exactly quantized_matrix_bytes", "[kernels][opsc]") {
  for (int bits : {2, 3, 4, 8})
    for (auto [rows, cols, g] : std::vector<std::tuple<int64_t, int64_t, int>>{{3, 64, 32}, {5, 100, 32}, {7, 129, 128}, {2, 45, 7}}) {
      const QuantizedMatrix q = quantize_matrix(random_matrix(rows, cols, 1).data(), rows, cols, bits, g);
      REQUIRE(q.bytes() == quantized_matrix_bytes(rows, cols, bits, g));
    }
}

TEST_CASE("quantize/dequantize round trip within scale/2 and codes in range", "[kernels][opsc]") {
  const int64_t rows = 9, cols = 200;
  const std::vector<float> w = random_matrix(rows, cols, 2);
  for (int bits : {2, 3, 4, 8})
    for (int g : {8, 64, 128, 200, 30}) {
      const QuantizedMatrix q = quantize_matrix(w.data(), rows, cols, bits, g);
      const std::vector<float> wh = dequantize_matrix(q);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) {
          const float s = qmath::half_to_float(q.scales[static_cast<size_t>(r * q.groups_per_row() + c / g)]);
          const size_t i = static_cast<size_t>(r * cols + c);
          REQUIRE(qmath::unpack_code(q.row_codes(r), c, bits) < (1u << bits));
          REQUIRE(std::fabs(wh[i] - w[i]) <= 0.5f * s * (1 + 1e-5f) + 1e-7f);
        }
    }
}

TEST_CASE("quantize_matrix rejects bad input with named keys", "[kernels][opsc]") {
  std::vector<float> w(64, 0.5f);
  REQUIRE_THROWS_WITH(quantize_matrix(w.data(), 2, 32, 5, 32), Catch::Contains("bits"));
  REQUIRE_THROWS_WITH(quantize_matrix(w.data(), 2, 32, 4, 64), Catch::Contains("group_size"));
  w[3] = NAN;
  REQUIRE_THROWS_AS(quantize_matrix(w.data(), 2, 32, 4, 32), InputError);
}

TEST_CASE("cpu GEMV and GEMM agree with the reference within the fp32 summation bound", "[kernels][opsc]") {
  std::mt19937_64 rng(5);
  std::normal_distribution<float> n(0.0f, 1.0f);
  for (int bits : {2, 3, 4, 8})
    for (auto [rows, cols, g] : std::vector<std::tuple<int64_t, int64_t, int>>{
             {1, 8, 8}, {13, 256, 128}, {33, 1000, 64}, {8, 515, 32}, {17, 96, 12}, {64, 4096, 128},
             {9, 488, 48}, {5, 112, 16}}) {  // 4-bit: groups % 32 != 0 take the AVX2 nibble path, the rest AVX-512
      const QuantizedMatrix q = quantize_matrix(random_matrix(rows, cols, 7).data(), rows, cols, bits, g);
      for (int64_t T : {int64_t{1}, int64_t{3}, int64_t{20}}) {
        std::vector<float> x(static_cast<size_t>(T * cols));
        for (auto& v : x) v = n(rng);
        std::vector<float> ref(static_cast<size_t>(T * rows)), cpu(ref.size()), cpu_mt(ref.size());
        gemm(q, x.data(), T, ref.data(), Backend::reference);
        gemm(q, x.data(), T, cpu.data(), Backend::cpu);
        gemm(q, x.data(), T, cpu_mt.data(), Backend::cpu, 3);
        INFO("bits " << bits << " " << rows << "x" << cols << " group " << g << " T " << T);
        for (int64_t t = 0; t < T; ++t)
          for (int64_t r = 0; r < rows; ++r) {
            const size_t i = static_cast<size_t>(t * rows + r);
            const double bound = gemv_bound(q, r, x.data() + t * cols);
            REQUIRE(std::fabs(cpu[i] - ref[i]) <= bound);
            REQUIRE(cpu_mt[i] == cpu[i]);  // threads split rows, not sums
          }
        std::vector<float> y(static_cast<size_t>(rows)), yr(y.size()), ymt(y.size());
        gemv(q, x.data(), yr.data(), Backend::reference);
        gemv(q, x.data(), y.data(), Backend::cpu);
        gemv(q, x.data(), ymt.data(), Backend::cpu, 2);
        for (int64_t r = 0; r < rows; ++r) {
          REQUIRE(yr[static_cast<size_t>(r)] == ref[static_cast<size_t>(r)]);
          REQUIRE(std::fabs(y[static_cast<size_t>(r)] - yr[static_cast<size_t>(r)]) <= gemv_bound(q, r, x.data()));
          REQUIRE(ymt[static_cast<size_t>(r)] == y[static_cast<size_t>(r)]);
        }
      }
    }
}

TEST_CASE("GEMV of the dequantized matrix is what the fused kernel computes", "[kernels][opsc]") {
  // Independent check of the reference itself: a plain double dot product with dequantize_matrix.
  const int64_t rows = 6, cols = 384;
  const QuantizedMatrix q = quantize_matrix(random_matrix(rows, cols, 3).data(), rows, cols, 4, 128);
  const std::vector<float> wh = dequantize_matrix(q);
  std::vector<float> x(cols);
  for (int64_t c = 0; c < cols; ++c) x[static_cast<size_t>(c)] = std::sin(0.1f * static_cast<float>(c));
  std::vector<float> y(rows);
  gemv(q, x.data(), y.data(), Backend::reference);
  for (int64_t r = 0; r < rows; ++r) {
    double acc = 0;
    for (int64_t c = 0; c < cols; ++c) acc += static_cast<double>(wh[static_cast<size_t>(r * cols + c)]) * x[static_cast<size_t>(c)];
    REQUIRE(y[static_cast<size_t>(r)] == static_cast<float>(acc));
  }
}
