// Host launchers of the CUDA quantized GEMV/GEMM (device code in opsc_cuda.cuh). The matrix is copied to the
// device on every call: these entry points serve tests and calibration, where the kernel time (events around
// the kernels alone) is the number that matters; a resident-weights API is for when a GPU executor exists.
#include "kernels/cuda_launch.hpp"
#include "kernels/cuda_util.cuh"
#include "kernels/opsc_cuda.cuh"

namespace splitsim::cuda_launch {

namespace {

struct DeviceMatrix {
  cuda_util::DeviceBuffer<uint8_t> codes;
  cuda_util::DeviceBuffer<uint16_t> scales, zeros;
  PackedMatrix view;
  explicit DeviceMatrix(const PackedMatrix& m)
      : codes(m.rows * m.row_code_bytes),
        scales(m.rows * groups(m)),
        zeros(m.rows * groups(m)),
        view(m) {
    codes.upload(m.codes, m.rows * m.row_code_bytes);
    scales.upload(m.scales, m.rows * groups(m));
    zeros.upload(m.zeros, m.rows * groups(m));
    view.codes = codes.get();
    view.scales = scales.get();
    view.zeros = zeros.get();
  }
  static int64_t groups(const PackedMatrix& m) { return (m.cols + m.group_size - 1) / m.group_size; }
};

}  // namespace

double opsc_gemv(const PackedMatrix& m, const float* x, float* y) {
  DeviceMatrix dm(m);
  cuda_util::DeviceBuffer<float> dx(m.cols), dy(m.rows);
  dx.upload(x, m.cols);
  cuda_util::KernelTimer timer;
  timer.start();
  const auto blocks = static_cast<unsigned>((m.rows + opsc_cuda::kGemvWarps - 1) / opsc_cuda::kGemvWarps);
  opsc_cuda::gemv_kernel<<<blocks, 32 * opsc_cuda::kGemvWarps>>>(dm.view, dx.get(), dy.get());
  const double s = timer.stop("gemv_kernel");
  dy.download(y, m.rows);
  return s;
}

double opsc_gemm(const PackedMatrix& m, const float* x, int64_t T, float* y) {
  if (T <= 0) return 0;
  DeviceMatrix dm(m);
  cuda_util::DeviceBuffer<float> dx(T * m.cols), dy(T * m.rows);
  dx.upload(x, T * m.cols);
  cuda_util::KernelTimer timer;
  timer.start();
  const dim3 grid(static_cast<unsigned>((m.rows + opsc_cuda::kTile - 1) / opsc_cuda::kTile),
                  static_cast<unsigned>((T + opsc_cuda::kTile - 1) / opsc_cuda::kTile));
  opsc_cuda::gemm_kernel<<<grid, dim3(opsc_cuda::kTile, 8)>>>(dm.view, dx.get(), T, dy.get());
  const double s = timer.stop("gemm_kernel");
  dy.download(y, T * m.rows);
  return s;
}

}  // namespace splitsim::cuda_launch
