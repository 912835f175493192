// The wire format of a transmitted hidden-state block X (T tokens x d values): the one definition of its
// layout and byte size, used by the codec (kernels/, CPU and CUDA), the executor's transport and the simulator.
//
// Layout, version 1, little-endian:
//   header (16 B): magic u32 "SSW1", version u8, codec u8, flags u16, T u32, d u32
//   fp32 / fp16 codecs: T*d values, row-major
//   uniform codec:   per token (5 B): bits u8, min fp16, delta fp16; then per token ceil(d*bits/8) B of codes
//   ts_tabq codec:   per token (7 B): bits u8, min fp16, delta fp16, outlier count u16;
//                    then per token ceil(d*bits/8) B of codes; then per token its outliers, each
//                    (column u16, value fp16) = 4 B
// bits = 0 is allowed for a token whose dense part is constant (all codes zero, no code bytes).
// Each part is a struct with one write and one read (SPLITSIM_HD: the CUDA codec packs outliers with the same one).
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/formats/bytes.hpp"

namespace splitsim {

constexpr uint32_t kWireMagic = 0x31575353u;  // "SSW1" read as little-endian u32
constexpr uint8_t kWireVersion = 1;
enum class WireCodec : uint8_t { fp32 = 0, fp16 = 1, uniform = 2, ts_tabq = 3 };

// ---- block header -----------------------------------------------------------------------------------------
struct WireBlockHeader {
  uint32_t magic = kWireMagic;
  uint8_t version = kWireVersion;
  uint8_t codec = 0;  // WireCodec, as sent (a reader validates it)
  uint16_t flags = 0;
  uint32_t T = 0, d = 0;
};
constexpr int64_t kWireHeaderBytes = 16;
namespace wire_offsets {
constexpr int kMagic = 0, kVersion = 4, kCodec = 5, kFlags = 6, kTokens = 8, kWidth = 12;
static_assert(kWidth + 4 == kWireHeaderBytes, "the header ends with d");
}  // namespace wire_offsets

SPLITSIM_HD void write_block_header(uint8_t* out, const WireBlockHeader& h) {
  le::put_u32(out + wire_offsets::kMagic, h.magic);
  out[wire_offsets::kVersion] = h.version;
  out[wire_offsets::kCodec] = h.codec;
  le::put_u16(out + wire_offsets::kFlags, h.flags);
  le::put_u32(out + wire_offsets::kTokens, h.T);
  le::put_u32(out + wire_offsets::kWidth, h.d);
}
// The fields as they are; validating them is the reader's (read_wire_header in kernels/codec.hpp).
SPLITSIM_HD WireBlockHeader read_block_header(const uint8_t* in) {
  WireBlockHeader h;
  h.magic = le::get_u32(in + wire_offsets::kMagic);
  h.version = in[wire_offsets::kVersion];
  h.codec = in[wire_offsets::kCodec];
  h.flags = le::get_u16(in + wire_offsets::kFlags);
  h.T = le::get_u32(in + wire_offsets::kTokens);
  h.d = le::get_u32(in + wire_offsets::kWidth);
  return h;
}

// ---- per-token header -------------------------------------------------------------------------------------
struct TokenHeader {
  uint8_t bits = 0;
  uint16_t min_h = 0, delta_h = 0;  // fp16
  uint16_t n_out = 0;               // ts_tabq only
};
constexpr int64_t kUniformTokenHeaderBytes = 5;  // bits, min, delta
constexpr int64_t kTabqTokenHeaderBytes = 7;     // bits, min, delta, outlier count
constexpr int64_t token_header_bytes(WireCodec c) {
  return c == WireCodec::ts_tabq ? kTabqTokenHeaderBytes : kUniformTokenHeaderBytes;
}
SPLITSIM_HD void write_token_header(uint8_t* out, const TokenHeader& h, bool with_outliers) {
  out[0] = h.bits;
  le::put_u16(out + 1, h.min_h);
  le::put_u16(out + 3, h.delta_h);
  if (with_outliers) le::put_u16(out + 5, h.n_out);
}
SPLITSIM_HD TokenHeader read_token_header(const uint8_t* in, bool with_outliers) {
  TokenHeader h;
  h.bits = in[0];
  h.min_h = le::get_u16(in + 1);
  h.delta_h = le::get_u16(in + 3);
  h.n_out = with_outliers ? le::get_u16(in + 5) : 0;
  return h;
}

// ---- outlier entry ----------------------------------------------------------------------------------------
struct OutlierEntry {
  uint16_t column = 0;
  uint16_t value_h = 0;  // fp16
};
constexpr int64_t kOutlierBytes = 4;  // column u16 + value fp16
// The entry as the little-endian 32-bit word it is on the wire (column in the low half).
SPLITSIM_HD uint32_t outlier_word(const OutlierEntry& e) {
  return static_cast<uint32_t>(e.column) | (static_cast<uint32_t>(e.value_h) << 16);
}
SPLITSIM_HD void write_outlier(uint8_t* out, const OutlierEntry& e) { le::put_u32(out, outlier_word(e)); }
SPLITSIM_HD OutlierEntry read_outlier(const uint8_t* in) {
  OutlierEntry e;
  e.column = le::get_u16(in);
  e.value_h = le::get_u16(in + 2);
  return e;
}

// ---- sizes ------------------------------------------------------------------------------------------------
constexpr int64_t packed_code_bytes(int64_t d, int bits) { return (d * bits + 7) / 8; }

// Exact size of a dense block (fp32 or fp16).
constexpr int64_t encoded_size_dense(WireCodec c, int64_t T, int64_t d) {
  return kWireHeaderBytes + T * d * (c == WireCodec::fp32 ? 4 : 2);
}

// Exact size of a quantized block from its per-token bit-widths and (ts_tabq) per-token outlier counts (any
// ranges of integers: spans, vectors; the header stays C++17 for the CUDA side).
template <class Bits, class Outliers>
int64_t encoded_size(WireCodec c, int64_t d, const Bits& bits_per_token, const Outliers& outliers_per_token) {
  const int64_t T = static_cast<int64_t>(bits_per_token.size());
  if (c == WireCodec::fp32 || c == WireCodec::fp16) return encoded_size_dense(c, T, d);
  int64_t n = kWireHeaderBytes + T * token_header_bytes(c);
  for (auto b : bits_per_token) n += packed_code_bytes(d, static_cast<int>(b));
  if (c == WireCodec::ts_tabq)
    for (auto k : outliers_per_token) n += kOutlierBytes * static_cast<int64_t>(k);
  return n;
}

// Expected size when only the mean bits per element and mean outliers per token are known (analytic
// estimates before a codec run has measured them). Equals encoded_size when every token has the same bits.
inline double expected_encoded_size(WireCodec c, int64_t T, int64_t d, double mean_bits, double mean_outliers) {
  if (c == WireCodec::fp32 || c == WireCodec::fp16) return static_cast<double>(encoded_size_dense(c, T, d));
  double per_token = static_cast<double>(token_header_bytes(c)) +
                     static_cast<double>((static_cast<int64_t>(static_cast<double>(d) * mean_bits) + 7) / 8);
  if (c == WireCodec::ts_tabq) per_token += kOutlierBytes * mean_outliers;
  return static_cast<double>(kWireHeaderBytes) + static_cast<double>(T) * per_token;
}

}  // namespace splitsim
