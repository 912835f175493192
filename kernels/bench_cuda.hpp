// GPU benchmarks and calibration (`splitsim bench kernels --backend cuda`, `splitsim calibrate --backend cuda`):
// the device's own references (kernels/cuda_bench.hpp), then the decode GEMV at the shapes that matter for
// 7B-70B models, the prefill GEMM against tokens, and the codec against tokens, each beside cuBLAS fp16 where
// cuBLAS does the same work. Weights are cycled over enough resident copies that they stream from DRAM, not the L2.
// Built only with the CUDA kernels (kernels/CMakeLists.txt).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/bench.hpp"
#include "kernels/cuda_bench.hpp"

namespace splitsim {

struct GpuReferences {
  cuda_bench::DeviceInfo device;
  double copy_bandwidth = 0;  // B/s, read + written (device-to-device cudaMemcpy)
  int64_t copy_bytes = 0;
  double read_bandwidth = 0;  // B/s of a read-only kernel
  double h2d_bandwidth = 0, d2h_bandwidth = 0;
  double launch_queued = 0;           // s per empty kernel queued back to back
  double launch_roundtrip = 0;        // s per empty kernel launched and synchronized
  double fma_fp32 = 0, fma_fp16 = 0;  // flop/s
  std::string cublas;                 // "" when cuBLAS is usable, else why not
};
GpuReferences measure_gpu_references(bool quick);

struct GpuGemvPoint {
  int bits = 4;
  int64_t rows = 0, cols = 0;
  double weight_bytes = 0;              // packed codes + group headers (quantized_matrix_bytes)
  double seconds = 0;                   // kernel time per call, launcher's choice of shape
  double cublas_seconds = 0;            // fp16 cublasGemmEx at the same shape (0: not measured)
  std::vector<double> variant_seconds;  // per cuda_launch::gemv_shape(1..), when asked for
  double gbps() const { return weight_bytes / seconds / 1e9; }
};
GpuGemvPoint gpu_gemv(int bits, int64_t rows, int64_t cols, const GpuReferences& ref, bool variants, bool with_cublas);

struct GpuGemmPoint {
  int bits = 4;
  int64_t rows = 0, cols = 0, T = 0;
  double seconds = 0;         // tensor cores (fp16 operands, fp32 accumulation)
  double exact_seconds = 0;   // fixed-order fp32 kernel (0: not measured)
  double cublas_seconds = 0;  // fp16 cublasGemmEx
  double flops() const { return 2.0 * static_cast<double>(rows * cols * T); }
};
GpuGemmPoint gpu_gemm(int bits, int64_t rows, int64_t cols, int64_t T, const GpuReferences& ref, bool exact,
                      bool with_cublas);

struct GpuCodecPoint {
  std::string codec;
  int64_t T = 0, d = 0;
  double encode_seconds = 0, decode_seconds = 0, bits_per_element = 0;
  double fp32_bytes() const { return static_cast<double>(T * d * 4); }
};
GpuCodecPoint gpu_codec(const std::string& codec, int64_t T, int64_t d);

// The whole table with the targets checked (PASS/FAIL lines), printed to stdout.
void run_gpu_bench(const BenchOptions& opt, bool variants);
// Writes the calibration file (hwprofiles/measured/<device slug>.toml unless out is given); returns its path.
std::string run_gpu_calibrate(const BenchOptions& opt, const std::string& out, const std::string& command);
// "NVIDIA H200" -> "nvidia-h200".
std::string device_slug(const std::string& name);

}  // namespace splitsim
