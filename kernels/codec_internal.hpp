// Internal to kernels/: the pieces every codec backend shares — resolved parameters, the per-row scratch an
// encoder fills before the block is assembled (row statistics: codec_stats.hpp), and the validated layout of a
// received block. Not part of the public API (see codec.hpp).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "kernels/codec.hpp"
#include "kernels/codec_stats.hpp"
#include "kernels/quant_math.hpp"

namespace splitsim::codec_detail {


// Parameters after validation, in the form the kernels use.
struct ResolvedCodec {
  WireCodec codec = WireCodec::ts_tabq;
  TsMode ts = TsMode::none;       // TsMode::none for the uniform codec
  double sigma_k = 6.0;
  int sigma_iterations = 2;
  float tau = 0;                  // fixed / percentile: outliers are |x| > tau (a float, see float_round_down)
  double eps = 1e-3;
  int allowed[kMaxAllowedBits] = {};
  int n_allowed = 0;
  int uniform_bits = 8;
  int max_bits() const { return codec == WireCodec::uniform ? uniform_bits : allowed[n_allowed - 1]; }
};

// For float x and double t: x > t  <=>  x > float_round_down(t) (round_down_to_float of codec_stats.hpp).
inline float float_round_down(double t) { return round_down_to_float(t); }

// Validates p against d and resolves the tensor-wide threshold (percentile needs the whole block).
ResolvedCodec resolve(const float* x, int64_t T, int64_t d, const CodecParams& p);
// Exact tensor-wide percentile threshold; shared by every backend so all select the same tau.
float percentile_tau(const float* x, int64_t n, double rho);

// Scratch an encoder fills row by row; rows are independent, so row t writes only its own slots.
struct EncodeWork {
  int64_t T = 0, d = 0;
  int64_t row_code_cap = 0;          // bytes reserved per row for codes: packed_code_bytes(d, max_bits)
  std::vector<RowOut> rows;          // T
  std::vector<uint8_t> codes;        // T x row_code_cap; only the first packed_code_bytes(d, bits) are used
  std::vector<uint8_t> outliers;     // T x d x 4: (column u16, fp16 value) in wire order; first n_out used
  void prepare(int64_t T_, int64_t d_, const ResolvedCodec& r);
};

// Writes header, per-token headers, codes and outliers of an encoded block into out (resized to the exact size).
void assemble(const ResolvedCodec& r, const EncodeWork& w, std::vector<uint8_t>& out);

// A received block after validation: where each token's codes and outliers start.
struct Layout {
  WireHeader h;
  std::vector<RowOut> rows;          // T (quantized codecs)
  std::vector<int64_t> code_off;     // T: byte offset of the token's codes in the wire
  std::vector<int64_t> out_off;      // T: byte offset of the token's outliers in the wire
  int64_t payload_off = 0;           // dense codecs: offset of the values
};
Layout parse_layout(std::span<const uint8_t> wire);  // InputError on anything malformed

// Backends. Each fills w.rows / w.codes / w.outliers for rows [t0, t1).
void encode_rows_reference(const float* x, int64_t t0, int64_t t1, const ResolvedCodec& r, EncodeWork& w);
void encode_rows_cpu(const float* x, int64_t t0, int64_t t1, const ResolvedCodec& r, EncodeWork& w);
// Decode rows [t0, t1) of a validated layout into out (T x d).
void decode_rows_reference(std::span<const uint8_t> wire, const Layout& L, int64_t t0, int64_t t1, float* out);
void decode_rows_cpu(std::span<const uint8_t> wire, const Layout& L, int64_t t0, int64_t t1, float* out);
void dense_encode_reference(const float* x, int64_t n, WireCodec c, uint8_t* dst);
void dense_encode_cpu(const float* x, int64_t n, WireCodec c, uint8_t* dst);
void dense_decode_reference(const uint8_t* src, int64_t n, WireCodec c, float* out);
void dense_decode_cpu(const uint8_t* src, int64_t n, WireCodec c, float* out);

// CUDA (codec_cuda.cu); only called when cuda_device_available(). Return the kernel time in seconds.
double encode_cuda(const float* x, int64_t T, int64_t d, const ResolvedCodec& r, EncodeWork& w);
double decode_cuda(std::span<const uint8_t> wire, const Layout& L, float* out);
// Benchmarks: inputs resident on the device, `calls` launches back to back; mean kernel seconds per call.
double time_encode_cuda(const float* x, int64_t T, int64_t d, const ResolvedCodec& r, int calls);
double time_decode_cuda(std::span<const uint8_t> wire, const Layout& L, int calls);

}  // namespace splitsim::codec_detail
