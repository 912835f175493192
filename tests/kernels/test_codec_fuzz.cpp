// Bounded randomized-mutation fuzzing of decode: valid blocks of every codec are truncated, bit-flipped, have
// bytes overwritten or headers forged, and decode must either succeed or throw InputError — never crash or
// read out of bounds (run this binary under -fsanitize=address to check the latter; see README).
#include <catch2/catch.hpp>
#include <chrono>
#include <random>

#include "core/error.hpp"
#include "kernels/activations.hpp"
#include "kernels/codec.hpp"

using namespace splitsim;

TEST_CASE("decode survives randomized mutations of valid blocks", "[kernels][fuzz]") {
  std::mt19937_64 rng(2024);
  std::vector<std::vector<uint8_t>> seeds;
  for (WireCodec c : {WireCodec::ts_tabq, WireCodec::uniform, WireCodec::fp16, WireCodec::fp32})
    for (int64_t T : {int64_t{1}, int64_t{3}, int64_t{9}}) {
      ActivationSpec s;
      s.T = T;
      s.d = 72 + 8 * T;
      s.seed = static_cast<uint64_t>(T);
      const std::vector<float> x = llm_like_activations(s);
      CodecParams p;
      p.codec = c;
      p.uniform_bits = 3 + static_cast<int>(T % 5);
      seeds.push_back(encode(x.data(), s.T, s.d, p));
    }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  int64_t runs = 0, accepted = 0;
  std::vector<float> out;
  while (std::chrono::steady_clock::now() < deadline || runs < 2000) {
    std::vector<uint8_t> w = seeds[rng() % seeds.size()];
    const int mutations = 1 + static_cast<int>(rng() % 4);
    for (int m = 0; m < mutations; ++m) {
      switch (rng() % 6) {
        case 0: w.resize(rng() % (w.size() + 1)); break;                                   // truncate
        case 1: if (!w.empty()) w[rng() % w.size()] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;  // bit flip
        case 2: if (!w.empty()) w[rng() % w.size()] = static_cast<uint8_t>(rng()); break;  // random byte
        case 3: if (w.size() >= 16) w[8 + rng() % 8] = static_cast<uint8_t>(rng()); break;  // forge T or d
        case 4: if (w.size() > 16) w[16 + rng() % std::min<size_t>(w.size() - 16, 64)] = static_cast<uint8_t>(rng()); break;  // token headers
        case 5: for (int k = 0; k < 4; ++k) w.push_back(static_cast<uint8_t>(rng())); break;  // trailing bytes
      }
    }
    for (Backend b : {Backend::reference, Backend::cpu}) {
      try {
        const DecodedBlock blk = decode(w, b);
        REQUIRE(static_cast<int64_t>(blk.values.size()) == blk.T * blk.d);
        ++accepted;
      } catch (const InputError&) {
      }
    }
    ++runs;
  }
  WARN("decode fuzz: " << runs << " mutated blocks, " << accepted << " decodes accepted (valid after mutation)");
  REQUIRE(runs >= 2000);
}
