// Internal to kernels/: the host launchers of the CUDA kernels, as plain C++17 with no CUDA types, so that the
// C++20 side of kernels/ (cuda_dispatch.cpp) can call them and the .cu files never see a C++20 header (CUDA 11.4,
// the newest toolkit on Jetson Xavier NX, compiles C++17 at most). Every function takes host pointers, copies
// to the device, runs its kernels and copies back; it returns the seconds spent in the kernels alone (CUDA
// events), and throws std::runtime_error naming the CUDA call on any CUDA error.
#pragma once
#include <cstdint>

#include "kernels/codec_stats.hpp"

namespace splitsim::cuda_launch {

// codec_detail::Resolved without the C++20 enums.
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

// An OPSC matrix (kernels/opsc.hpp's QuantizedMatrix fields).
struct PackedMatrix {
  const uint8_t* codes = nullptr;
  const uint16_t* scales = nullptr;
  const uint16_t* zeros = nullptr;
  int64_t rows = 0, cols = 0, row_code_bytes = 0;
  int bits = 4, group_size = 128;
};
double opsc_gemv(const PackedMatrix& m, const float* x, float* y);                 // y (rows) = W^ x
double opsc_gemm(const PackedMatrix& m, const float* x, int64_t T, float* y);      // Y (T x rows) = X W^T

}  // namespace splitsim::cuda_launch
