// The tiled layout of an OPSC matrix: how the CUDA GEMV and tensor-core GEMM read the packed codes of
// kernels/opsc.hpp once the matrix is resident on the device, and the per-lane arithmetic of the fast GEMV. Plain
// C++17 with SPLITSIM_HD functions: the CUDA kernels and the CPU tests (tests/kernels/test_opsc_tiled.cpp) run the
// same code, so the index math and the bit tricks are checked on every build machine, GPU or not.
//
// Chunks. A row's codes are cut into chunks of 32 consecutive codes; 32 codes of b bits are exactly b 32-bit words
// of the row's little-endian bit stream (bytes [4bc, 4b(c+1)) of the plain row), so the repack is a shuffle of whole
// words and never re-encodes a code. Codes past the end of the row are zero.
// Warp groups. 32 consecutive chunks (1,024 columns) form a warp group: lane l of a warp owns chunk l of it. Within a
// group, a chunk's b words travel as vectors ("pieces") of 4, 2 and 1 words (b = 8: 4+4, 4: 4, 3: 2+1, 2: 2), and
// piece p of the 32 chunks is stored lane after lane, so one load instruction of a warp reads one contiguous span
// (512 bytes for a 16-byte piece). A row is a whole number of warp groups (zero-padded).
// Group headers. (fp16 scale, fp16 zero) of a group as one 32-bit word, scale in the low half; the format needs
// group_size % 32 == 0 so that a chunk never straddles two groups.
//
// Per-lane GEMV arithmetic (chunk_dot): a code q becomes the float 2^23 + q by OR-ing it into the mantissa of 2^23
// (a byte permute for 2-, 4- and 8-bit codes: one instruction per code, no int-to-float conversion), one add of
// -(2^23 + z) gives q - z exactly, and fused multiply-adds accumulate (q - z) x in fp32 (even and odd codes in two
// chains, then their sum). The group's scale multiplies the chunk's sum once. Relative to the double-accumulated
// reference this is fp32 rounding only: 16 FMAs and an add per chain, one scale product, then the chunks' sums
// (tests name the bound).
#pragma once
#include <cstdint>

#include "kernels/quant_math.hpp"

// Full unrolling in device code, where register arrays must be indexed by constants; nothing on the host.
#if defined(__CUDA_ARCH__)
#define SPLITSIM_UNROLL _Pragma("unroll")
#else
#define SPLITSIM_UNROLL
#endif

namespace splitsim::opsc_tiled {

constexpr int kChunkCodes = 32;                         // codes per chunk (one lane's share of a row per warp group)
constexpr int kGroupChunks = 32;                        // chunks per warp group (one per lane)
constexpr int kGroupCols = kChunkCodes * kGroupChunks;  // 1,024 columns per warp group
constexpr uint32_t kMagic = 0x4B000000u;                // bits of 2^23: OR a code < 2^23 into it to get 2^23 + q
constexpr float kMagicF = 8388608.0f;                   // 2^23

SPLITSIM_HD constexpr bool supported(int bits, int group_size) {
  return (bits == 2 || bits == 3 || bits == 4 || bits == 8) && group_size > 0 && group_size % kChunkCodes == 0;
}
SPLITSIM_HD constexpr int64_t chunks(int64_t cols) { return (cols + kChunkCodes - 1) / kChunkCodes; }
SPLITSIM_HD constexpr int64_t warp_groups(int64_t cols) { return (chunks(cols) + kGroupChunks - 1) / kGroupChunks; }
SPLITSIM_HD constexpr int64_t row_words(int64_t cols, int bits) { return warp_groups(cols) * kGroupChunks * bits; }

// Piece holding word j of a b-word chunk: first word and width (4, 2 or 1 words), greedily widest first.
struct Piece {
  int first = 0, width = 0;
};
SPLITSIM_HD constexpr Piece piece_of(int bits, int j) {
  int first = 0, left = bits;
  while (left > 0) {
    const int w = left >= 4 ? 4 : (left >= 2 ? 2 : 1);
    if (j < first + w) return Piece{first, w};
    first += w;
    left -= w;
  }
  return Piece{};
}

// Index, in 32-bit words from the start of the row, of word j of chunk c.
SPLITSIM_HD constexpr int64_t word_index(int bits, int64_t c, int j) {
  const Piece p = piece_of(bits, j);
  return (c / kGroupChunks) * kGroupChunks * bits + int64_t{kGroupChunks} * p.first + (c % kGroupChunks) * p.width +
         (j - p.first);
}

// Code i of a row in the tiled layout (any bits the layout supports); the exact kernels read codes this way.
SPLITSIM_HD uint32_t tiled_code(const uint32_t* row, int bits, int64_t i) {
  const int64_t c = i / kChunkCodes;
  const int bit = static_cast<int>(i % kChunkCodes) * bits;
  const int j = bit >> 5, off = bit & 31;
  uint64_t v = row[word_index(bits, c, j)];
  if (off + bits > 32) v |= static_cast<uint64_t>(row[word_index(bits, c, j + 1)]) << 32;
  return static_cast<uint32_t>(v >> off) & ((1u << bits) - 1u);
}

// One row of the plain layout (row_code_bytes bytes, the little-endian bit stream of `cols` codes) into
// row_words(cols, bits) words of the tiled layout: word j of chunk c is bytes [4 (b c + j), +4) of the row, zero
// past its last byte. Host code (the upload); the tests check it against unpack_code.
inline void tile_row(const uint8_t* src, int64_t row_code_bytes, int64_t cols, int bits, uint32_t* dst) {
  const int64_t nc = chunks(cols);
  for (int64_t i = 0; i < row_words(cols, bits); ++i) dst[i] = 0;
  for (int64_t c = 0; c < nc; ++c)
    for (int j = 0; j < bits; ++j) {
      const int64_t b0 = 4 * (bits * c + j);
      uint32_t w = 0;
      for (int k = 0; k < 4; ++k)
        if (b0 + k < row_code_bytes) w |= static_cast<uint32_t>(src[b0 + k]) << (8 * k);
      dst[word_index(bits, c, j)] = w;
    }
}

// ---------------------------------------------------------------------------------------------------------
// Per-lane arithmetic.

// __byte_perm: byte k of the result is byte (s >> 4k) & 7 of the 8-byte value (hi:lo).
SPLITSIM_HD uint32_t byte_perm(uint32_t lo, uint32_t hi, uint32_t s) {
#if defined(__CUDA_ARCH__)
  return __byte_perm(lo, hi, s);
#else
  const uint64_t v = (static_cast<uint64_t>(hi) << 32) | lo;
  uint32_t r = 0;
  for (int k = 0; k < 4; ++k) r |= static_cast<uint32_t>((v >> (8 * ((s >> (4 * k)) & 7))) & 0xFF) << (8 * k);
  return r;
#endif
}

// 2^23 + (byte k of t), for a t whose bytes are codes: bytes 1 and 2 from zero bytes of kMagic, byte 3 its 0x4B.
SPLITSIM_HD float magic_byte(uint32_t t, int k) {
  return qmath::bits_float(byte_perm(t, kMagic, 0x7540u + static_cast<uint32_t>(k)));
}
SPLITSIM_HD float magic_bits(uint32_t v) { return qmath::bits_float(v | kMagic); }

SPLITSIM_HD float fma_f(float a, float b, float c) {
#if defined(__CUDA_ARCH__)
  return __fmaf_rn(a, b, c);
#else
  return __builtin_fmaf(a, b, c);
#endif
}
SPLITSIM_HD uint32_t funnel_right(uint32_t lo, uint32_t hi, int s) {  // (hi:lo) >> s, low word; 0 < s < 32
#if defined(__CUDA_ARCH__)
  return __funnelshift_r(lo, hi, static_cast<unsigned>(s));
#else
  return static_cast<uint32_t>(((static_cast<uint64_t>(hi) << 32) | lo) >> s);
#endif
}

// The 32 codes of a chunk as floats 2^23 + q, code i in v[i]. B words in w, the row's bit stream order.
template <int B>
SPLITSIM_HD void chunk_magic(const uint32_t* w, float* v);

template <>
SPLITSIM_HD void chunk_magic<8>(const uint32_t* w, float* v) {
  SPLITSIM_UNROLL
  for (int j = 0; j < 8; ++j) {
    SPLITSIM_UNROLL
    for (int k = 0; k < 4; ++k) v[4 * j + k] = magic_byte(w[j], k);
  }
}

template <>
SPLITSIM_HD void chunk_magic<4>(const uint32_t* w, float* v) {
  SPLITSIM_UNROLL
  for (int j = 0; j < 4; ++j) {
    const uint32_t lo = w[j] & 0x0F0F0F0Fu, hi = (w[j] >> 4) & 0x0F0F0F0Fu;  // byte k: codes 2k, 2k + 1
    SPLITSIM_UNROLL
    for (int k = 0; k < 4; ++k) {
      v[8 * j + 2 * k] = magic_byte(lo, k);
      v[8 * j + 2 * k + 1] = magic_byte(hi, k);
    }
  }
}

template <>
SPLITSIM_HD void chunk_magic<2>(const uint32_t* w, float* v) {
  SPLITSIM_UNROLL
  for (int j = 0; j < 2; ++j) {
    SPLITSIM_UNROLL
    for (int s = 0; s < 4; ++s) {
      const uint32_t t = (w[j] >> (2 * s)) & 0x03030303u;  // byte k: code 4k + s of this word
      SPLITSIM_UNROLL
      for (int k = 0; k < 4; ++k) v[16 * j + 4 * k + s] = magic_byte(t, k);
    }
  }
}

template <>
SPLITSIM_HD void chunk_magic<3>(const uint32_t* w, float* v) {
  SPLITSIM_UNROLL
  for (int i = 0; i < 32; ++i) {
    const int bit = 3 * i, j = bit >> 5, off = bit & 31;
    const uint32_t s = off + 3 <= 32 ? w[j] >> off : funnel_right(w[j], w[j + 1], off);
    v[i] = magic_bits(s & 7u);
  }
}

// sum_i (q_i - z) x_i over one chunk; zb = 2^23 + z (z an integer code, so q - z is exact). Two accumulators
// (even and odd i, each in order) halve the chain of dependent FMAs; their sum is the result.
template <int B>
SPLITSIM_HD float chunk_dot(const uint32_t* w, const float* x, float zb) {
  float v[32];
  chunk_magic<B>(w, v);
  float even = 0.0f, odd = 0.0f;
  SPLITSIM_UNROLL
  for (int i = 0; i < 32; i += 2) {
    even = fma_f(qmath::sub_rn(v[i], zb), x[i], even);
    odd = fma_f(qmath::sub_rn(v[i + 1], zb), x[i + 1], odd);
  }
  return qmath::add_rn(even, odd);
}

// The group header word of the tiled layout.
SPLITSIM_HD constexpr uint32_t group_header(uint16_t scale_h, uint16_t zero_h) {
  return static_cast<uint32_t>(scale_h) | (static_cast<uint32_t>(zero_h) << 16);
}

}  // namespace splitsim::opsc_tiled
