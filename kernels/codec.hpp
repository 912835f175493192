// The hidden-state codec: encodes a T x d fp32 block into the wire format of core/formats/wire_block.hpp and back.
//
// Codecs (WireCodec): fp32, fp16 (IEEE round-to-nearest-even, overflow to +-Inf), uniform (per-token
// asymmetric quantization at one bit-width, no outlier handling), ts_tabq (Threshold Splitting, then TAB-Q).
//
// Usage (edge):
//   CodecParams p;                         // ts-tabq, sigma mode k = 6, eps = 1e-3, bits {2,3,4,6,8}
//   std::vector<uint8_t> wire = encode(x /*T x d, row-major*/, T, d, p);
//   // wire.size() == encoded_size(analyze(x, T, d, p))  — and the simulator's core/formats/wire_block.hpp functions
// Usage (server):
//   DecodedBlock blk = decode(wire);       // blk.values: T x d; throws InputError on corrupt input
//   or: WireHeader h = read_wire_header(wire); decode_into(wire, out /*h.T x h.d floats*/, p.backend);
//
// TS threshold modes (outliers are entries with |x| > tau; they travel as (uint16 column, fp16 value)):
//   fixed       tau = ts_threshold (LLM.int8-style, e.g. 6.0)
//   percentile  the largest floor(ts_threshold * T * d) finite |x| of the whole block are outliers (ts_threshold
//               is the fraction rho, e.g. 0.001); tau = the next largest |x|, ties stay dense
//   sigma       per token tau_t = |mu_t| + k * sigma_t (k = ts_threshold) over the row's finite values, then
//               recomputed once over the entries within the first tau_t (sigma_iterations = 2), so a few huge
//               outliers cannot hide the moderate ones behind an inflated sigma
//   none        no outliers (TAB-Q alone)
// TAB-Q: per token the smallest b in tabq_bits with (r_t/(2^b-1))^2/12 <= eps * var_t over the dense row
// (outliers zeroed); b = 0 for a constant row.
//
// NaN/Inf policy (tested):
//   ts_tabq with TS on: NaN and +-Inf are always outliers and arrive exactly (NaN as NaN, Inf as Inf); finite
//     outliers beyond the fp16 range saturate to +-65504.
//   uniform, and ts_tabq with ts_mode none: the dense value of NaN is 0 and every value is clamped to
//     [-65504, 65504] before quantization (so +Inf decodes near 65504 and spoils that row's resolution — use TS).
//   fp16: IEEE conversion (NaN stays NaN, |x| > 65504 becomes +-Inf); fp32: the bits as they are.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/backend.hpp"
#include "core/codec.hpp"
#include "core/formats/wire_block.hpp"

namespace splitsim {

// One encode: the codec's parameters (core/codec.hpp) and where it runs.
struct CodecParams : CodecSpec {
  Backend backend = Backend::cpu;
  int threads = 1;  // cpu backend: worker threads over tokens (1 = single core)

  void validate() const;  // InputError "codec: <key>: ..." on a bad value
};

inline CodecParams codec_params(const CodecSpec& spec, Backend backend = Backend::cpu, int threads = 1) {
  CodecParams p;
  static_cast<CodecSpec&>(p) = spec;
  p.backend = backend;
  p.threads = threads;
  return p;
}

// What an encode will produce, per token: bit-width, outlier count, and the row header. The exact byte size
// is encoded_size(plan) = core/formats/wire_block.hpp's encoded_size(codec, d, bits, outliers).
struct EncodePlan {
  WireCodec codec = WireCodec::ts_tabq;
  int64_t T = 0, d = 0;
  std::vector<uint8_t> bits;       // T
  std::vector<uint16_t> outliers;  // T (zeros for codecs without TS)
};
EncodePlan analyze(const float* x, int64_t T, int64_t d, const CodecParams& p);
int64_t encoded_size(const EncodePlan& plan);

std::vector<uint8_t> encode(const float* x, int64_t T, int64_t d, const CodecParams& p);
// Same, reusing out's capacity (the executor calls this once per step).
void encode_into(const float* x, int64_t T, int64_t d, const CodecParams& p, std::vector<uint8_t>& out);

struct WireHeader {
  WireCodec codec = WireCodec::fp32;
  uint16_t flags = 0;
  int64_t T = 0, d = 0;
};
// Validates magic, version, codec, flags and that T, d are plausible for the buffer size; InputError otherwise.
WireHeader read_wire_header(std::span<const uint8_t> wire);

struct DecodedBlock {
  WireCodec codec = WireCodec::fp32;
  int64_t T = 0, d = 0;
  std::vector<float> values;  // T x d, row-major
};
// Fully validates the payload before writing anything (sizes, bit-widths, outlier columns strictly increasing
// and < d, exact length); never reads outside `wire`. InputError "wire block: <what>" on corrupt input.
DecodedBlock decode(std::span<const uint8_t> wire, Backend b = Backend::cpu);
// out must hold T*d floats of the header's T and d.
void decode_into(std::span<const uint8_t> wire, std::span<float> out, Backend b = Backend::cpu, int threads = 1);

// Measurement helpers for benchmarks and the accuracy model.
struct CodecStats {
  double bits_per_element = 0;  // 8 * encoded bytes / (T*d), every header and outlier included
  double relative_mse = 0;      // ||X - X^||_F^2 / ||X||_F^2 over finite entries
  double mean_token_bits = 0;   // mean TAB-Q / uniform bit-width of the dense codes
  double outliers_per_token = 0;
};
CodecStats measure_codec(const float* x, int64_t T, int64_t d, const CodecParams& p);

// CUDA timing hook for calibration: seconds in the kernels of the last cuda encode/decode on this thread.
double last_cuda_codec_kernel_seconds();

}  // namespace splitsim
