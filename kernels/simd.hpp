// Internal to kernels/: run-time selection of the vectorized CPU path. The build does not assume
// -march=native, so functions that use AVX2 carry SPLITSIM_AVX2 and are only called when the host has it.
#pragma once
#include <cstdint>

#define SPLITSIM_AVX2 __attribute__((target("avx2,fma,f16c,bmi2")))

namespace splitsim {

// AVX2 + FMA + F16C + BMI2 (pdep/pext) all present. SPLITSIM_FORCE_SCALAR=1 in the environment turns the
// vectorized path off (to test the fallback on a host that has AVX2).
bool simd_avx2_available();

// Each byte of the mask keeps the low `bits` bits: pdep/pext between a packed code stream and one code per byte.
constexpr uint64_t simd_byte_mask(int bits) { return 0x0101010101010101ull * ((1ull << bits) - 1ull); }

}  // namespace splitsim
