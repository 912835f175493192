// Backend dispatch of the quantized GEMV/GEMM: shape checks, then rows split over threads for the cpu backend
// (every thread reads the whole of x, writes its own rows of y), or one call into the CUDA launchers.
#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "kernels/opsc_internal.hpp"

namespace splitsim {

namespace {

thread_local double t_last_cuda_seconds = 0;

int workers_for(int threads, int64_t rows, double work) {
  int n = threads == 0 ? static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) : threads;
  if (threads == 0 && work < 4e6) n = 1;  // below ~1 ms of work a thread costs more than it saves
  return static_cast<int>(std::clamp<int64_t>(rows / 8, 1, n));
}

template <class F>
void split_rows(int64_t rows, int workers, F&& f) {
  if (workers <= 1) return f(int64_t{0}, rows);
  // Row chunks are multiples of 4 so that the GEMM's 4-row blocks never straddle two workers.
  const int64_t chunk = ((rows + workers - 1) / workers + 3) / 4 * 4;
  std::vector<std::thread> pool;
  for (int i = 1; i < workers; ++i) {
    const int64_t r0 = i * chunk, r1 = std::min(rows, r0 + chunk);
    if (r0 < r1) pool.emplace_back([&f, r0, r1] { f(r0, r1); });
  }
  f(int64_t{0}, std::min(rows, chunk));
  for (auto& t : pool) t.join();
}

void require_cuda(const char* what) {
  if (!cuda_device_available())
    throw std::runtime_error(fmt::format("{}: backend cuda requested but no CUDA device is available ({})", what,
                                         cuda_device_description()));
}

}  // namespace

void gemv(const QuantizedMatrix& q, const float* x, float* y, Backend b, int threads) {
  opsc_detail::check_matrix(q);
  t_last_cuda_seconds = 0;
  switch (b) {
    case Backend::reference: return opsc_detail::gemv_rows_reference(q, x, y, 0, q.rows);
    case Backend::cpu:
      return split_rows(q.rows, workers_for(threads, q.rows, static_cast<double>(q.rows * q.cols)),
                        [&](int64_t r0, int64_t r1) { opsc_detail::gemv_rows_cpu(q, x, y, r0, r1); });
    case Backend::cuda: require_cuda("gemv"); t_last_cuda_seconds = opsc_detail::gemv_cuda(q, x, y); return;
  }
}

void gemm(const QuantizedMatrix& q, const float* x, int64_t T, float* y, Backend b, int threads) {
  opsc_detail::check_matrix(q);
  if (T < 0) throw_input("gemm", "T", "a token count >= 0", std::to_string(T));
  t_last_cuda_seconds = 0;
  if (T == 0) return;
  switch (b) {
    case Backend::reference:
      for (int64_t t = 0; t < T; ++t) opsc_detail::gemv_rows_reference(q, x + t * q.cols, y + t * q.rows, 0, q.rows);
      return;
    case Backend::cpu:
      return split_rows(q.rows, workers_for(threads, q.rows, static_cast<double>(T * q.rows * q.cols)),
                        [&](int64_t r0, int64_t r1) { opsc_detail::gemm_rows_cpu(q, x, T, y, r0, r1); });
    case Backend::cuda: require_cuda("gemm"); t_last_cuda_seconds = opsc_detail::gemm_cuda(q, x, T, y); return;
  }
}

double last_cuda_kernel_seconds() { return t_last_cuda_seconds; }

}  // namespace splitsim
