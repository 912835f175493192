// Internal to kernels/: the references a GPU's kernels are measured against, taken on the device itself in the same
// run (never the host's memcpy): copy and read bandwidth of device memory, host<->device bandwidth, kernel launch
// overhead, the FMA peak of a simple microkernel, and cuBLAS fp16 GEMV/GEMM at the same shapes (what a user would
// otherwise run). Plain C++17 with no CUDA types, like cuda_launch.hpp; implemented in cuda_bench.cu.
#pragma once
#include <cstdint>
#include <string>

namespace splitsim::cuda_bench {

struct DeviceInfo {
  std::string name;
  int cc_major = 0, cc_minor = 0, sm_count = 0;
  double sm_clock_mhz = 0, mem_clock_mhz = 0;  // peak clocks the driver reports
  int mem_bus_bits = 0;
  int64_t l2_bytes = 0, global_bytes = 0;
  int driver_version = 0, runtime_version = 0;  // 13000 = 13.0
};
DeviceInfo device_info();

// Device-to-device cudaMemcpy of `bytes`: bytes read plus bytes written per second (median of reps).
double copy_bandwidth(int64_t bytes, int reps);
// A kernel that only reads `bytes` (16-byte loads, a sum kept so they are not elided): bytes per second.
double read_bandwidth(int64_t bytes, int reps);
// Pinned host memory to the device (or back): bytes per second.
double host_device_bandwidth(int64_t bytes, int reps, bool to_device);
// Empty kernels: seconds per launch when queued back to back, and per launch + stream synchronize (median).
double launch_queued_seconds(int n);
double launch_roundtrip_seconds(int n);
// Independent FMA chains on every lane of a full grid: fp32 fmaf or fp16 __hfma2 (4 flops); flop/s.
double fma_peak_flops(bool fp16);

// cuBLAS, loaded at run time from libcublas.so.<major of the build's header> (or the path in $SPLITSIM_CUBLAS): the
// build needs only its header. "" when usable, else why not.
std::string cublas_status();
// Y (T x rows, fp16) = X (T x cols, fp16) W^T (W fp16, rows x cols) by cublasGemmEx with fp32 compute; T = 1 is the
// GEMV shape. `copies` weight matrices are cycled (DRAM, not L2); mean seconds per call of `calls` back to back.
double cublas_fp16_seconds(int64_t rows, int64_t cols, int64_t T, int copies, int calls);

}  // namespace splitsim::cuda_bench
