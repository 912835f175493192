// Internal to kernels/: run-time selection of the vectorized CPU path. The build does not assume
// -march=native, so functions that use AVX2 carry SPLITSIM_AVX2 and are only called when the host has it.
#pragma once
#include <cstdint>

#define SPLITSIM_AVX2 __attribute__((target("avx2,fma,f16c,bmi2")))

namespace splitsim {

// AVX2 + FMA + F16C + BMI2 (pdep/pext) all present. SPLITSIM_FORCE_SCALAR=1 in the environment turns the
// vectorized path off (to test the fallback on a host that has AVX2).
bool simd_avx2_available();

// AVX-512 F+BW+VL present as well (and SPLITSIM_NO_AVX512 unset): only the 4-bit GEMV has a 512-bit path, since
// it is compute-bound in AVX2 (unpack + convert + FMA) while everything else is memory-bound already.
bool simd_avx512_available();
#define SPLITSIM_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c,bmi2")))

// Each byte of the mask keeps the low `bits` bits: pdep/pext between a packed code stream and one code per byte.
constexpr uint64_t simd_byte_mask(int bits) { return 0x0101010101010101ull * ((1ull << bits) - 1ull); }

}  // namespace splitsim

// --- eight codes <-> `B` bytes of the little-endian bit stream, with AVX2 variable shifts ------------------
// (BMI2 pdep/pext would do this in one instruction, but they are microcoded and ~25x slower on several AMD
// cores, this build host included; shifts are fast everywhere.)
#include <immintrin.h>

#include <cstring>

namespace splitsim {

template <int B>
SPLITSIM_AVX2 inline __m256i simd_shift_counts() {
  if constexpr (B <= 4) return _mm256_setr_epi32(0, B, 2 * B, 3 * B, 4 * B, 5 * B, 6 * B, 7 * B);
  else return _mm256_setr_epi32(0, B, 2 * B, 3 * B, 0, B, 2 * B, 3 * B);
}

// Codes (int32 lanes, each < 2^B) -> B bytes at dst.
template <int B>
SPLITSIM_AVX2 inline void simd_put8(uint8_t* dst, __m256i q) {
  if constexpr (B == 8) {
    const __m128i w16 = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(dst), _mm_packus_epi16(w16, w16));
  } else {
    __m256i v = _mm256_sllv_epi32(q, simd_shift_counts<B>());
    v = _mm256_or_si256(v, _mm256_shuffle_epi32(v, 0x4E));
    v = _mm256_or_si256(v, _mm256_shuffle_epi32(v, 0xB1));
    const uint64_t lo = static_cast<uint32_t>(_mm_cvtsi128_si32(_mm256_castsi256_si128(v)));
    const uint64_t hi = static_cast<uint32_t>(_mm_cvtsi128_si32(_mm256_extracti128_si256(v, 1)));
    const uint64_t u = B <= 4 ? (lo | hi) : (lo | (hi << (4 * B)));
    if constexpr (B == 2 || B == 4) std::memcpy(dst, &u, B);
    else for (int k = 0; k < B; ++k) dst[k] = static_cast<uint8_t>(u >> (8 * k));
  }
}

// B bytes at src -> eight codes in int32 lanes.
template <int B>
SPLITSIM_AVX2 inline __m256i simd_get8(const uint8_t* src) {
  if constexpr (B == 8) {
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(src)));
  } else {
    uint64_t u = 0;  // a memcpy of 3, 5, 6 or 7 bytes is not always inlined: byte by byte for those
    if constexpr (B == 2 || B == 4) std::memcpy(&u, src, B);
    else for (int k = 0; k < B; ++k) u |= static_cast<uint64_t>(src[k]) << (8 * k);
    const __m256i bc = B <= 4 ? _mm256_set1_epi32(static_cast<int>(u))
                              : _mm256_set_m128i(_mm_set1_epi32(static_cast<int>(u >> (4 * B))), _mm_set1_epi32(static_cast<int>(u)));
    return _mm256_and_si256(_mm256_srlv_epi32(bc, simd_shift_counts<B>()), _mm256_set1_epi32((1 << B) - 1));
  }
}

}  // namespace splitsim
