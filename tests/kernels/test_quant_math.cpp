// Unit tests of the per-element math every backend shares (kernels/quant_math.hpp): fp16 conversion, directed
// rounding of headers, the activation and weight quantizers, bit packing.
#include <immintrin.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <random>

#include "kernels/quant_math.hpp"
#include "kernels/simd.hpp"

using namespace splitsim;
using namespace splitsim::qmath;

namespace {

__attribute__((target("f16c"))) uint16_t hw_half(float f) {
  return static_cast<uint16_t>(_mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(f), _MM_FROUND_TO_NEAREST_INT), 0));
}

float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Round to nearest even by definition: the two neighbouring halves, compared in double.
uint16_t half_by_definition(float f) {
  if (std::isnan(f)) return 0x7E00;
  if (std::fabs(f) >= 65520.0f) return f > 0 ? 0x7C00 : 0xFC00;  // 65520 = halfway to the next binade: RNE -> Inf
  uint16_t best = 0;
  double best_err = INFINITY;
  const uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  for (uint32_t h = 0; h < 0x7C00; ++h) {
    const double e = std::fabs(static_cast<double>(half_to_float(static_cast<uint16_t>(h))) - std::fabs(static_cast<double>(f)));
    if (e < best_err || (e == best_err && (h & 1u) == 0)) {
      best_err = e;
      best = static_cast<uint16_t>(h);
    }
  }
  return static_cast<uint16_t>(sign | best);
}

}  // namespace

TEST_CASE("half_to_float is exact and inverts float_to_half on every fp16 value", "[kernels][fp16]") {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = half_to_float(static_cast<uint16_t>(h));
    const bool nan = (h & 0x7C00) == 0x7C00 && (h & 0x3FF);
    if (nan) {
      REQUIRE(std::isnan(f));
      continue;
    }
    REQUIRE(float_to_half(f) == h);
  }
  CHECK(half_to_float(0x3C00) == 1.0f);
  CHECK(half_to_float(0x7BFF) == 65504.0f);
  CHECK(half_to_float(0x0001) == std::ldexp(1.0f, -24));
  CHECK(std::isinf(half_to_float(0xFC00)));
}

TEST_CASE("float_to_half rounds to nearest even like the definition", "[kernels][fp16]") {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> mag(-26.0f, 17.0f);
  for (int i = 0; i < 300; ++i) {
    float f = std::exp2(mag(rng)) * (rng() & 1 ? -1.0f : 1.0f);
    REQUIRE(float_to_half(f) == half_by_definition(f));
  }
  // Exact ties: halfway between 1 and 1 + 2^-10 rounds to even (1), the next tie up rounds to 1 + 2^-9.
  CHECK(float_to_half(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);
  CHECK(float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3C02);
  CHECK(float_to_half(65519.0f) == 0x7BFF);
  CHECK(float_to_half(65520.0f) == 0x7C00);
  CHECK(float_to_half_sat(1e9f) == 0x7BFF);
  CHECK(float_to_half_sat(-1e9f) == 0xFBFF);
  CHECK(float_to_half_sat(INFINITY) == 0x7C00);
  CHECK(std::isnan(half_to_float(float_to_half_sat(NAN))));
}

TEST_CASE("float_to_half matches x86 F16C bit for bit (the cpu fp16 codec uses it)", "[kernels][fp16]") {
  if (!__builtin_cpu_supports("f16c")) {
    WARN("host has no F16C: skipping the hardware comparison");
    return;
  }
  std::mt19937 rng(11);
  for (int i = 0; i < 2000000; ++i) {
    const float f = from_bits(static_cast<uint32_t>(rng()));
    REQUIRE(float_to_half(f) == hw_half(f));
  }
  for (float f : {0.0f, -0.0f, 65504.0f, 65519.99f, 65520.0f, 1e-8f, -1e-8f, 5.96e-8f, 2.98e-8f, 2.9802322e-08f})
    REQUIRE(float_to_half(f) == hw_half(f));
}

TEST_CASE("directed fp16 rounding brackets the value", "[kernels][fp16]") {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(-60000.0, 60000.0);
  for (int i = 0; i < 20000; ++i) {
    const double v = i % 3 == 0 ? u(rng) * 1e-6 : u(rng);
    const double up = half_to_float(half_round_up(v)), dn = half_to_float(half_round_down(v));
    REQUIRE(up >= v);
    REQUIRE(dn <= v);
    REQUIRE(half_to_float(half_next_down(half_round_up(v))) < v);  // tight: the next half below is too small
    REQUIRE(half_to_float(half_next_up(half_round_down(v))) > v);
  }
}

TEST_CASE("activation quantizer: every value within delta/2 of its code's value", "[kernels][tabq]") {
  std::mt19937 rng(5);
  for (int bits : {2, 3, 4, 6, 8, 12, 16}) {
    std::uniform_real_distribution<float> u(-37.0f, 91.0f);
    float lo = INFINITY, hi = -INFINITY;
    std::vector<float> x(997);
    for (auto& v : x) {
      v = u(rng);
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    const ActHeader h = act_header(lo, hi, bits);
    const float mn = half_to_float(h.min_h), delta = half_to_float(h.delta_h), inv = inv_or_zero(delta);
    REQUIRE(mn <= lo);
    REQUIRE(static_cast<double>(mn) + static_cast<double>(delta) * ((1u << bits) - 1) >= hi);
    for (float v : x) {
      const uint32_t q = act_code(v, mn, inv, (1u << bits) - 1u);
      REQUIRE(q < (1u << bits));
      // delta/2 from rounding to the nearest code, plus the float roundings of (x - min) * inv (relative to the
      // span) and of min + q * delta in the decode: a few units of 2^-24 of |min| + |x| + span.
      const float span = delta * static_cast<float>((1u << bits) - 1u);
      REQUIRE(std::fabs(act_value(q, mn, delta) - v) <=
              0.5f * delta + 4 * std::ldexp(1.0f, -24) * (std::fabs(mn) + std::fabs(v) + span));
    }
  }
}

TEST_CASE("TAB-Q picks the smallest allowed bit-width that meets the budget", "[kernels][tabq]") {
  const int allowed[] = {2, 3, 4, 6, 8};
  // range 1, var 1/12 (uniform on [0,1]): delta^2/12 <= eps/12  <=>  delta <= sqrt(eps).
  CHECK(tabq_choose_bits(1.0, 1.0 / 12, 0.2, allowed, 5) == 2);   // delta 1/3 = 0.333 <= 0.447
  CHECK(tabq_choose_bits(1.0, 1.0 / 12, 0.05, allowed, 5) == 3);  // 1/7 = 0.143 <= 0.224 (1/3 is not)
  CHECK(tabq_choose_bits(1.0, 1.0 / 12, 1e-3, allowed, 5) == 6);  // 1/63 = 0.0159 <= 0.0316 (1/15 is not)
  CHECK(tabq_choose_bits(1.0, 1.0 / 12, 1e-9, allowed, 5) == 8);  // nothing meets it: the largest
  CHECK(tabq_choose_bits(0.0, 0.0, 1e-3, allowed, 5) == 0);       // constant row
}

TEST_CASE("weight quantizer: integer zero point, codes in range, error within scale/2", "[kernels][opsc]") {
  std::mt19937 rng(9);
  for (int bits : {2, 3, 4, 8}) {
    for (int trial = 0; trial < 50; ++trial) {
      std::normal_distribution<float> n(trial % 5 == 0 ? 3.0f : 0.0f, 0.02f + trial * 0.01f);
      std::vector<float> g(64);
      for (auto& v : g) v = trial % 7 == 0 ? std::fabs(n(rng)) : n(rng);  // some all-positive groups
      const auto [lo, hi] = std::minmax_element(g.begin(), g.end());
      const WeightGroupHeader h = weight_group_header(*lo, *hi, bits);
      const float s = half_to_float(h.scale_h), z = half_to_float(h.zero_h);
      REQUIRE(z == std::rint(z));
      REQUIRE(z >= 0);
      REQUIRE(z <= static_cast<float>((1u << bits) - 1));
      for (float w : g) {
        const uint32_t q = weight_code(w, 1.0f / s, z, (1u << bits) - 1u);
        REQUIRE(std::fabs(weight_value(q, s, z) - w) <= 0.5f * s * (1 + 1e-5f) + 1e-7f);
      }
    }
  }
}

TEST_CASE("bit packing round-trips at every width and offset", "[kernels][pack]") {
  std::mt19937 rng(1);
  for (int bits = 1; bits <= 16; ++bits) {
    const int n = 37;
    std::vector<uint32_t> q(n);
    std::vector<uint8_t> row(static_cast<size_t>((n * bits + 7) / 8), 0);
    for (int i = 0; i < n; ++i) {
      q[i] = rng() & ((1u << bits) - 1u);
      pack_code(row.data(), i, bits, q[i]);
    }
    for (int i = 0; i < n; ++i) REQUIRE(unpack_code(row.data(), i, bits) == q[i]);
    // Little-endian bit stream: code 0 sits in the lowest bits of byte 0.
    REQUIRE((row[0] & ((1u << std::min(bits, 8)) - 1u)) == (q[0] & ((1u << std::min(bits, 8)) - 1u)));
  }
}

TEST_CASE("pext/pdep masks select the low bits of each byte", "[kernels][pack]") {
  CHECK(simd_byte_mask(4) == 0x0F0F0F0F0F0F0F0Full);
  CHECK(simd_byte_mask(3) == 0x0707070707070707ull);
  CHECK(simd_byte_mask(8) == 0xFFFFFFFFFFFFFFFFull);
}
