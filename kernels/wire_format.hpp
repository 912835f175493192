// The wire format of a transmitted hidden-state block X (T tokens x d values): the one definition of its
// layout and byte size, used by the codec (kernels/), the executor's transport and the simulator alike.
//
// Layout, version 1, little-endian:
//   header (16 B): magic u32 "SSW1", version u8, codec u8, flags u16, T u32, d u32
//   fp32 / fp16 codecs: T*d values, row-major
//   uniform codec:   per token (5 B): bits u8, min fp16, delta fp16; then per token ceil(d*bits/8) B of codes
//   ts_tabq codec:   per token (7 B): bits u8, min fp16, delta fp16, outlier count u16;
//                    then per token ceil(d*bits/8) B of codes; then per token its outliers, each
//                    (column u16, value fp16) = 4 B
// bits = 0 is allowed for a token whose dense part is constant (all codes zero, no code bytes).
#pragma once
#include <cstdint>
#include <span>

namespace splitsim {

constexpr uint32_t kWireMagic = 0x31575353u;  // "SSW1" read as little-endian u32
constexpr uint8_t kWireVersion = 1;
enum class WireCodec : uint8_t { fp32 = 0, fp16 = 1, uniform = 2, ts_tabq = 3 };

constexpr int64_t kWireHeaderBytes = 16;
constexpr int64_t kUniformTokenHeaderBytes = 5;  // bits, min, delta
constexpr int64_t kTabqTokenHeaderBytes = 7;     // bits, min, delta, outlier count
constexpr int64_t kOutlierBytes = 4;             // column u16 + value fp16

constexpr int64_t packed_code_bytes(int64_t d, int bits) { return (d * bits + 7) / 8; }

// Exact size of a dense block (fp32 or fp16).
constexpr int64_t encoded_size_dense(WireCodec c, int64_t T, int64_t d) {
  return kWireHeaderBytes + T * d * (c == WireCodec::fp32 ? 4 : 2);
}

// Exact size of a quantized block from its per-token bit-widths and (ts_tabq) per-token outlier counts.
inline int64_t encoded_size(WireCodec c, int64_t d, std::span<const uint8_t> bits_per_token,
                            std::span<const uint16_t> outliers_per_token) {
  const int64_t T = static_cast<int64_t>(bits_per_token.size());
  if (c == WireCodec::fp32 || c == WireCodec::fp16) return encoded_size_dense(c, T, d);
  int64_t n = kWireHeaderBytes + T * (c == WireCodec::uniform ? kUniformTokenHeaderBytes : kTabqTokenHeaderBytes);
  for (int64_t t = 0; t < T; ++t) n += packed_code_bytes(d, bits_per_token[static_cast<size_t>(t)]);
  if (c == WireCodec::ts_tabq)
    for (auto k : outliers_per_token) n += kOutlierBytes * k;
  return n;
}

// Expected size when only the mean bits per element and mean outliers per token are known (analytic
// estimates before a codec run has measured them). Equals encoded_size when every token has the same bits.
inline double expected_encoded_size(WireCodec c, int64_t T, int64_t d, double mean_bits, double mean_outliers) {
  if (c == WireCodec::fp32 || c == WireCodec::fp16) return static_cast<double>(encoded_size_dense(c, T, d));
  double per_token = (c == WireCodec::uniform ? kUniformTokenHeaderBytes : kTabqTokenHeaderBytes) +
                     static_cast<double>((static_cast<int64_t>(static_cast<double>(d) * mean_bits) + 7) / 8);
  if (c == WireCodec::ts_tabq) per_token += kOutlierBytes * mean_outliers;
  return static_cast<double>(kWireHeaderBytes) + static_cast<double>(T) * per_token;
}

}  // namespace splitsim
