// The tiled layout and the per-lane arithmetic of the CUDA GEMV (kernels/opsc_tiled.hpp), run on the CPU: the same
// functions the kernels call, so the index math and the bit tricks are checked on machines without a GPU. The
// whole tiled GEMV is emulated lane by lane and held to the same fp32 bound the GPU test uses.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <set>
#include <vector>

#include "kernels/opsc.hpp"
#include "kernels/opsc_tiled.hpp"
#include "kernels/quant_math.hpp"

using namespace splitsim;

namespace {

std::vector<uint32_t> tile_matrix(const QuantizedMatrix& q) {
  const int64_t rw = opsc_tiled::row_words(q.cols, q.bits);
  std::vector<uint32_t> words(static_cast<size_t>(q.rows * rw));
  for (int64_t r = 0; r < q.rows; ++r)
    opsc_tiled::tile_row(q.row_codes(r), q.row_code_bytes(), q.cols, q.bits, words.data() + r * rw);
  return words;
}

// The CUDA tiled GEMV's arithmetic for one row, lane by lane: chunk c's 32 words gathered by word_index, the
// chunk dot product, the group's scale; then the chunks' sums (the kernel adds them in a shuffle tree and across
// warps: a different order, covered by the bound's term count).
template <int B>
double emulate_row(const QuantizedMatrix& q, const uint32_t* row, const float* x, int64_t r) {
  double y = 0;
  const int64_t G = q.groups_per_row();
  for (int64_t c = 0; c < opsc_tiled::chunks(q.cols); ++c) {
    uint32_t w[B];
    for (int j = 0; j < B; ++j) w[j] = row[opsc_tiled::word_index(B, c, j)];
    float xr[32];
    for (int i = 0; i < 32; ++i) xr[i] = c * 32 + i < q.cols ? x[c * 32 + i] : 0.0f;
    const int64_t g = c * 32 / q.group_size;
    const float s = qmath::half_to_float(q.scales[static_cast<size_t>(r * G + g)]);
    const float z = qmath::half_to_float(q.zeros[static_cast<size_t>(r * G + g)]);
    y += static_cast<double>(s * opsc_tiled::chunk_dot<B>(w, xr, opsc_tiled::kMagicF + z));
  }
  return y;
}

double emulate(const QuantizedMatrix& q, const uint32_t* row, const float* x, int64_t r) {
  switch (q.bits) {
    case 2:
      return emulate_row<2>(q, row, x, r);
    case 3:
      return emulate_row<3>(q, row, x, r);
    case 4:
      return emulate_row<4>(q, row, x, r);
    default:
      return emulate_row<8>(q, row, x, r);
  }
}

}  // namespace

TEST_CASE("tiled layout: every word of a row has exactly one place", "[kernels][tiled]") {
  for (int bits : {2, 3, 4, 8})
    for (int64_t cols : {int64_t{1}, int64_t{32}, int64_t{1000}, int64_t{1024}, int64_t{2100}, int64_t{17000}}) {
      std::set<int64_t> seen;
      const int64_t rw = opsc_tiled::row_words(cols, bits);
      for (int64_t c = 0; c < opsc_tiled::warp_groups(cols) * opsc_tiled::kGroupChunks; ++c)
        for (int j = 0; j < bits; ++j) {
          const int64_t w = opsc_tiled::word_index(bits, c, j);
          REQUIRE(w >= 0);
          REQUIRE(w < rw);
          REQUIRE(seen.insert(w).second);
        }
      REQUIRE(static_cast<int64_t>(seen.size()) == rw);
      // Pieces are whole vectors: a piece of width v starts on a multiple of v words (aligned vector loads).
      for (int j = 0; j < bits; ++j) {
        const opsc_tiled::Piece p = opsc_tiled::piece_of(bits, j);
        REQUIRE(p.width > 0);
        REQUIRE(opsc_tiled::word_index(bits, 5, p.first) % p.width == 0);
      }
    }
}

TEST_CASE("tiled layout: tiled_code reads back every code of the packed rows", "[kernels][tiled]") {
  std::mt19937_64 rng(3);
  std::normal_distribution<float> n(0.0f, 1.0f);
  for (int bits : {2, 3, 4, 8})
    for (int64_t cols : {int64_t{7}, int64_t{96}, int64_t{1056}, int64_t{3000}}) {
      std::vector<float> w(static_cast<size_t>(3 * cols));
      for (auto& v : w) v = n(rng);
      const QuantizedMatrix q = quantize_matrix(w.data(), 3, cols, bits, static_cast<int>(std::min<int64_t>(cols, 32)));
      const std::vector<uint32_t> t = tile_matrix(q);
      const int64_t rw = opsc_tiled::row_words(cols, bits);
      for (int64_t r = 0; r < 3; ++r)
        for (int64_t i = 0; i < cols; ++i)
          REQUIRE(opsc_tiled::tiled_code(t.data() + r * rw, bits, i) == qmath::unpack_code(q.row_codes(r), i, bits));
    }
}

TEST_CASE("tiled layout: chunk_magic turns every code into 2^23 + q", "[kernels][tiled]") {
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 2000; ++trial) {
    uint32_t w[8];
    for (auto& v : w) v = static_cast<uint32_t>(rng());
    if (trial == 0)
      for (auto& v : w) v = 0xFFFFFFFFu;  // every code at its maximum
    float v[32];
    const auto check = [&](int bits) {
      for (int i = 0; i < 32; ++i) {
        const uint64_t stream = (static_cast<uint64_t>(w[(i * bits + bits - 1) / 32]) << 32) | w[i * bits / 32];
        const int off = i * bits % 32;
        const uint32_t code =
            static_cast<uint32_t>((off + bits <= 32 ? w[i * bits / 32] >> off : stream >> off)) & ((1u << bits) - 1u);
        REQUIRE(v[i] == opsc_tiled::kMagicF + static_cast<float>(code));
      }
    };
    opsc_tiled::chunk_magic<2>(w, v);
    check(2);
    opsc_tiled::chunk_magic<3>(w, v);
    check(3);
    opsc_tiled::chunk_magic<4>(w, v);
    check(4);
    opsc_tiled::chunk_magic<8>(w, v);
    check(8);
  }
}

TEST_CASE("tiled GEMV arithmetic, emulated lane by lane, within the fp32 bound of the reference", "[kernels][tiled]") {
  std::mt19937_64 rng(11);
  std::normal_distribution<float> n(0.0f, 1.0f);
  for (int bits : {2, 3, 4, 8})
    for (auto [rows, cols, g] : std::vector<std::tuple<int64_t, int64_t, int>>{
             {5, 32, 32}, {9, 200, 64}, {4, 1024, 128}, {3, 2500, 128}, {2, 17000, 256}}) {
      std::vector<float> w(static_cast<size_t>(rows * cols)), x(static_cast<size_t>(cols));
      for (auto& v : w) v = 0.02f * n(rng);
      for (auto& v : x) v = n(rng);
      const QuantizedMatrix q = quantize_matrix(w.data(), rows, cols, bits, g);
      REQUIRE(opsc_tiled::supported(bits, g));
      const std::vector<uint32_t> t = tile_matrix(q);
      std::vector<float> ref(static_cast<size_t>(rows));
      gemv(q, x.data(), ref.data(), Backend::reference);
      const int64_t G = q.groups_per_row(), rw = opsc_tiled::row_words(cols, bits);
      for (int64_t r = 0; r < rows; ++r) {
        double mag = 0;  // sum s (q + z) |x|: what the fp32 roundings are relative to
        for (int64_t c = 0; c < cols; ++c) {
          const int64_t gi = r * G + c / g;
          mag +=
              qmath::half_to_float(q.scales[static_cast<size_t>(gi)]) *
              (qmath::unpack_code(q.row_codes(r), c, bits) + qmath::half_to_float(q.zeros[static_cast<size_t>(gi)])) *
              std::fabs(x[static_cast<size_t>(c)]);
        }
        // 32 FMAs and one scale product per chunk, then up to chunks additions (tree and warps in the kernel).
        const double terms = 32 + 1 + static_cast<double>(opsc_tiled::chunks(cols));
        INFO("bits " << bits << " " << rows << "x" << cols << " group " << g << " row " << r);
        REQUIRE(std::fabs(emulate(q, t.data() + r * rw, x.data(), r) - ref[static_cast<size_t>(r)]) <=
                2 * terms * std::ldexp(1.0, -24) * mag + 1e-30);
      }
    }
}
