// Internal to kernels/: the host launchers of the CUDA kernels, as plain C++17 with no CUDA types, so that the
// C++20 side of kernels/ (cuda_dispatch.cpp, bench.cpp) can call them and the .cu files never see a C++20 header
// (CUDA 11.4, the newest toolkit on Jetson Xavier NX, compiles C++17 at most). Functions take host pointers unless
// they say otherwise; they return the seconds spent in the kernels alone (CUDA events), and throw
// std::runtime_error naming the CUDA call on any CUDA error.
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/codec_stats.hpp"

namespace splitsim::cuda_launch {

// codec_detail::ResolvedCodec without the C++20 enums.
struct CodecRowParams {
  bool uniform = false;  // uniform codec (bits fixed); otherwise ts_tabq
  bool ts = false;       // threshold splitting on
  bool sigma = false;    // per-row sigma threshold (else tau below)
  double sigma_k = 6.0;
  int sigma_iterations = 2;
  float tau = 0;
  double eps = 1e-3;
  int allowed[8] = {};
  int n_allowed = 0;
  int uniform_bits = 8;
};

// x: T x d. rows: T; codes: T x code_cap bytes (row t's codes at t * code_cap); outliers: T x d x 4 bytes (row
// t's (column u16, value fp16) pairs from t * d * 4), written only when p.ts.
double codec_encode(const float* x, int64_t T, int64_t d, const CodecRowParams& p, int64_t code_cap,
                    codec_detail::RowOut* rows, uint8_t* codes, uint8_t* outliers);

// A validated block (codec_detail::parse_layout): wire bytes, per-token headers and offsets; out: T x d.
double codec_decode(const uint8_t* wire, int64_t wire_bytes, int64_t T, int64_t d, const codec_detail::RowOut* rows,
                    const int64_t* code_off, const int64_t* out_off, float* out);

// Benchmarks of the codec: inputs uploaded once, `calls` launches back to back, mean kernel seconds per call.
double time_codec_encode(const float* x, int64_t T, int64_t d, const CodecRowParams& p, int64_t code_cap, int calls);
double time_codec_decode(const uint8_t* wire, int64_t wire_bytes, int64_t T, int64_t d,
                         const codec_detail::RowOut* rows, const int64_t* code_off, const int64_t* out_off, int calls);

// An OPSC matrix (kernels/opsc.hpp's QuantizedMatrix fields), host pointers.
struct PackedMatrix {
  const uint8_t* codes = nullptr;
  const uint16_t* scales = nullptr;
  const uint16_t* zeros = nullptr;
  int64_t rows = 0, cols = 0, row_code_bytes = 0;
  int bits = 4, group_size = 128;
};

// A matrix resident on the device, uploaded once: the tiled layout of opsc_tiled.hpp when it supports the bits and
// group size (then the fast GEMV and the tensor-core GEMM run), else the plain layout (generic kernels).
struct ResidentMatrix;
ResidentMatrix* upload_matrix(const PackedMatrix& m);
void free_matrix(ResidentMatrix* m) noexcept;
int64_t resident_bytes(const ResidentMatrix* m);  // device bytes of codes and group headers
bool resident_tiled(const ResidentMatrix* m);

enum class GemmKind {
  exact,         // fp32 products in a fixed order (the tests' bound of opsc_cuda.cuh); any layout
  tensor_cores,  // fp16 operands, fp32 accumulation on the tensor cores (tiled layout; else exact)
};
// y (rows) = W^ x (cols); Y (T x rows) = X (T x cols) W^T. Host x in, host y out.
// variant: a launch shape of gemv_shape (tests run them all), 0 for the launcher's choice.
double resident_gemv(const ResidentMatrix* m, const float* x, float* y, int variant = 0);
double resident_gemm(const ResidentMatrix* m, const float* x, int64_t T, float* y, GemmKind kind, int variant = 0);

// GEMV launch shapes, for tuning and the benchmark's variant table; 0 lets the launcher choose.
struct GemvShape {
  int tile_rows = 0;       // rows per block iteration (16, 32 or 64)
  int unroll = 0;          // rows per warp iteration (2, 4 or 8)
  bool pipelined = false;  // the next rows' codes load while the current ones are computed
};
constexpr int kGemvShapes = 8;
GemvShape gemv_shape(int variant);  // variants 1..kGemvShapes

// Benchmarks: `copies` resident copies of m (so that the weights come from DRAM, not the L2, when copies x bytes
// exceed it), random inputs on the device, `calls` launches back to back cycling over the copies; mean kernel
// seconds per call. time_gemv times each of `variants` (gemv_shape(v), or 0 for the launcher's choice) on the same
// copies and returns their times in order.
std::vector<double> time_gemv(const PackedMatrix& m, int copies, int calls, const std::vector<int>& variants);
// time_gemm's variant: 0 the launcher's block shape, 1..kGemmShapes a fixed one (gemm_shape_name).
constexpr int kGemmShapes = 4;
const char* gemm_shape_name(int variant);
double time_gemm(const PackedMatrix& m, int copies, int64_t T, GemmKind kind, int calls, int variant = 0);

}  // namespace splitsim::cuda_launch
