// OPSC weight quantization and the scalar reference of the quantized GEMV/GEMM.
//
// Quantization (the same for every backend; it runs once, offline): per row r and group g of `group_size`
// consecutive inputs, the range [min(w), max(w)] widened to include 0, fp16 scale rounded up so the grid covers
// it, integer zero point z, codes q = clamp(rint(w / scale) + z, 0, 2^bits - 1) packed little-endian.
// Reference products dequantize every weight exactly as quant_math.hpp defines and accumulate in double: the
// baseline the vectorized and CUDA paths are compared to, with a tolerance that the tests derive.
#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <stdexcept>

#include "core/error.hpp"
#include "kernels/opsc.hpp"
#include "kernels/opsc_internal.hpp"
#include "kernels/quant_math.hpp"

namespace splitsim {

QuantizedMatrix quantize_matrix(const float* w, int64_t rows, int64_t cols, int bits, int group_size) {
  if (bits != 2 && bits != 3 && bits != 4 && bits != 8)
    throw_input("quantize_matrix", "bits", "one of 2, 3, 4, 8", std::to_string(bits));
  if (rows < 1 || cols < 1)
    throw_input("quantize_matrix", "shape", "rows, cols >= 1", fmt::format("{}x{}", rows, cols));
  if (group_size < 1 || group_size > cols)
    throw_input("quantize_matrix", "group_size", fmt::format("a group size in [1, {}]", cols), std::to_string(group_size));
  QuantizedMatrix q;
  q.rows = rows;
  q.cols = cols;
  q.bits = bits;
  q.group_size = group_size;
  const int64_t G = q.groups_per_row(), rb = q.row_code_bytes();
  q.codes.assign(static_cast<size_t>(rows * rb), 0);
  q.scales.resize(static_cast<size_t>(rows * G));
  q.zeros.resize(static_cast<size_t>(rows * G));
  const uint32_t max_code = (1u << bits) - 1u;
  for (int64_t r = 0; r < rows; ++r) {
    const float* wr = w + r * cols;
    uint8_t* codes = q.codes.data() + r * rb;
    for (int64_t g = 0; g < G; ++g) {
      const int64_t c0 = g * group_size, c1 = std::min<int64_t>(cols, c0 + group_size);
      float lo = wr[c0], hi = wr[c0];
      for (int64_t c = c0; c < c1; ++c) {
        if (!std::isfinite(wr[c]))
          throw_input("quantize_matrix", fmt::format("w[{}][{}]", r, c), "a finite weight", fmt::format("{}", wr[c]));
        lo = std::min(lo, wr[c]);
        hi = std::max(hi, wr[c]);
      }
      const qmath::WeightGroupHeader h = qmath::weight_group_header(lo, hi, bits);
      const float scale = qmath::half_to_float(h.scale_h), zero = qmath::half_to_float(h.zero_h);
      if (!std::isfinite(scale))
        throw_input("quantize_matrix", fmt::format("row {} group {}", r, g), "a weight range within fp16 scales",
                    fmt::format("[{}, {}]", lo, hi));
      q.scales[static_cast<size_t>(r * G + g)] = h.scale_h;
      q.zeros[static_cast<size_t>(r * G + g)] = h.zero_h;
      const float inv = 1.0f / scale;
      for (int64_t c = c0; c < c1; ++c) qmath::pack_code(codes, c, bits, qmath::weight_code(wr[c], inv, zero, max_code));
    }
  }
  return q;
}

std::vector<float> dequantize_matrix(const QuantizedMatrix& q) {
  std::vector<float> w(static_cast<size_t>(q.rows * q.cols));
  const int64_t G = q.groups_per_row();
  for (int64_t r = 0; r < q.rows; ++r) {
    const uint8_t* codes = q.row_codes(r);
    for (int64_t c = 0; c < q.cols; ++c) {
      const int64_t g = c / q.group_size;
      w[static_cast<size_t>(r * q.cols + c)] =
          qmath::weight_value(qmath::unpack_code(codes, c, q.bits), qmath::half_to_float(q.scales[static_cast<size_t>(r * G + g)]),
                              qmath::half_to_float(q.zeros[static_cast<size_t>(r * G + g)]));
    }
  }
  return w;
}

namespace opsc_detail {

void check_matrix(const QuantizedMatrix& q) {
  const int64_t G = q.groups_per_row();
  if (q.rows < 1 || q.cols < 1 || (q.bits != 2 && q.bits != 3 && q.bits != 4 && q.bits != 8) || q.group_size < 1 ||
      static_cast<int64_t>(q.codes.size()) != q.rows * q.row_code_bytes() ||
      static_cast<int64_t>(q.scales.size()) != q.rows * G || static_cast<int64_t>(q.zeros.size()) != q.rows * G)
    throw_input("quantized matrix", "layout", "codes, scales and zeros sized for its rows, cols, bits and group size",
                fmt::format("{}x{} at {} bits, group {}", q.rows, q.cols, q.bits, q.group_size));
}

void gemv_rows_reference(const QuantizedMatrix& q, const float* x, float* y, int64_t r0, int64_t r1) {
  const int64_t G = q.groups_per_row();
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* codes = q.row_codes(r);
    double acc = 0;
    for (int64_t c = 0; c < q.cols; ++c) {
      const int64_t g = c / q.group_size;
      const float w = qmath::weight_value(qmath::unpack_code(codes, c, q.bits),
                                          qmath::half_to_float(q.scales[static_cast<size_t>(r * G + g)]),
                                          qmath::half_to_float(q.zeros[static_cast<size_t>(r * G + g)]));
      acc += static_cast<double>(w) * static_cast<double>(x[c]);
    }
    y[r] = static_cast<float>(acc);
  }
}

}  // namespace opsc_detail

}  // namespace splitsim
