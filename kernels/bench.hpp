// CPU microbenchmarks of the kernels (reference and cpu backends), shared by `splitsim bench kernels` (prints a
// table) and `splitsim calibrate` (writes hwprofiles/measured/<host>.toml). Every rate is measured in the same
// process run as the host's memory-copy bandwidth it is compared with. The cuda backend has its own, against the
// device's references: bench_cuda.hpp.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kernels/backend.hpp"

namespace splitsim {

struct BenchOptions {
  Backend backend = Backend::cpu;
  int threads = 1;
  double min_seconds = 0.3;  // per measurement
  bool quick = false;        // smaller sizes and shorter runs (tests, smoke checks)
};

// The file `splitsim calibrate --out <out>` writes, named <stem>.toml where a folder is given: by default
// hwprofiles/measured/ under data_dir(); an existing folder or a path ending in '/' gets <stem>.toml in it; any other
// path is the file itself.
std::string calibration_file(const std::string& out, const std::string& stem);

// Median seconds per call of f over at least opt.min_seconds (after one warm-up call).
double time_call(const std::function<void()>& f, double min_seconds);

struct CopyBandwidth {
  double dram = 0;       // B/s of memcpy over a buffer far larger than the caches (bytes copied / s)
  double in_cache = 0;   // B/s of memcpy of a buffer of `cache_bytes`
  int64_t dram_bytes = 0, cache_bytes = 0;
};
CopyBandwidth measure_copy_bandwidth(int64_t cache_bytes, const BenchOptions& opt);

struct GemvResult {
  int bits = 4;
  int64_t rows = 0, cols = 0, T = 1;
  double seconds = 0;
  double weight_bytes = 0;   // bytes of the packed matrix (or fp32 matrix for Eigen)
  double gbps() const { return weight_bytes / seconds / 1e9; }
  double gflops() const { return 2.0 * static_cast<double>(rows * cols * T) / seconds / 1e9; }
};
GemvResult bench_gemv(int bits, int64_t rows, int64_t cols, const BenchOptions& opt);
GemvResult bench_gemm(int bits, int64_t rows, int64_t cols, int64_t T, const BenchOptions& opt);

struct CodecRate {
  std::string codec;
  int64_t T = 0, d = 0;
  bool cold = false;          // input/wire rotated through a set larger than the caches
  double encode_seconds = 0, decode_seconds = 0;
  double bits_per_element = 0;
  double encode_rate() const { return static_cast<double>(T * d * 4) / encode_seconds; }  // fp32 B/s in
  double decode_rate() const { return static_cast<double>(T * d * 4) / decode_seconds; }  // fp32 B/s out
};
CodecRate bench_codec(const std::string& codec, int64_t T, int64_t d, bool cold, const BenchOptions& opt);

// Compression at a relative-MSE target: the fewest bits per element (all headers and outliers included) that
// TS + TAB-Q (sigma mode, TAB-Q budget swept) and per-token uniform quantization need on LLM-like activations.
struct CompressionPoint {
  double target = 0;
  bool strict = false;         // error relative to the bulk energy (largest 0.1% of |x| excluded) instead of all
  double tabq_bits = 0, tabq_mse = 0, tabq_eps = 0;
  double uniform_bits = 0, uniform_mse = 0;  // 0 when even 16 bits miss the target
};
std::vector<CompressionPoint> bench_compression(int64_t T, int64_t d, const std::vector<double>& targets);

// Eigen fp32 baselines (eigen_baseline.cpp, compiled for AVX2+FMA; only valid when the host has them).
bool eigen_baseline_available();
double eigen_gemv_seconds(int64_t rows, int64_t cols, double min_seconds);
double eigen_gemm_seconds(int64_t rows, int64_t cols, int64_t T, double min_seconds);
double fma_peak_flops(double min_seconds);  // one core, AVX2 FMA, fp32

}  // namespace splitsim
