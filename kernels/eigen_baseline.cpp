// Baselines the kernels are compared with: Eigen's fp32 GEMV/GEMM and a peak fp32 FMA loop. This file alone is
// compiled with -mavx2 -mfma (see CMakeLists.txt) so the baseline is Eigen at its best on this host, and its
// Eigen lives in a renamed namespace so that these AVX2 template instances never replace (ODR) the SSE2 ones
// other modules link into the same binary. Callers check eigen_baseline_available() first.
#define Eigen splitsim_eigen_avx2
#include <Eigen/Dense>
#undef Eigen

#include <immintrin.h>

#include <chrono>
#include <random>

#include "kernels/bench.hpp"

namespace splitsim {

namespace E = ::splitsim_eigen_avx2;

bool eigen_baseline_available() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

double eigen_gemv_seconds(int64_t rows, int64_t cols, double min_seconds) {
  E::Matrix<float, E::Dynamic, E::Dynamic, E::RowMajor> w = E::Matrix<float, E::Dynamic, E::Dynamic, E::RowMajor>::Random(rows, cols);
  E::VectorXf x = E::VectorXf::Random(cols), y(rows);
  return time_call([&] { y.noalias() = w * x; }, min_seconds);
}

double eigen_gemm_seconds(int64_t rows, int64_t cols, int64_t T, double min_seconds) {
  E::Matrix<float, E::Dynamic, E::Dynamic, E::RowMajor> w = E::Matrix<float, E::Dynamic, E::Dynamic, E::RowMajor>::Random(rows, cols);
  E::Matrix<float, E::Dynamic, E::Dynamic, E::RowMajor> x = E::Matrix<float, E::Dynamic, E::Dynamic, E::RowMajor>::Random(T, cols);
  E::Matrix<float, E::Dynamic, E::Dynamic, E::RowMajor> y(T, rows);
  E::setNbThreads(1);
  return time_call([&] { y.noalias() = x * w.transpose(); }, min_seconds);
}

double fma_peak_flops(double min_seconds) {
  // 12 independent accumulators hide the FMA latency; 2 flops x 8 lanes per FMA.
  const int64_t iters = 1 << 20;
  auto run = [&] {
    __m256 a[12];
    for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(1.0f + 1e-7f * static_cast<float>(i));
    const __m256 m = _mm256_set1_ps(0.9999999f), c = _mm256_set1_ps(1e-7f);
    for (int64_t k = 0; k < iters; ++k)
      for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
    __m256 s = a[0];
    for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, a[i]);
    volatile float sink = _mm256_cvtss_f32(s);
    (void)sink;
  };
  const double t = time_call(run, min_seconds);
  return static_cast<double>(iters) * 12 * 8 * 2 / t;
}

}  // namespace splitsim
