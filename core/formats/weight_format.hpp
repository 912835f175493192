// OPSC weight storage format: the one definition of how many bytes a quantized matrix takes.
//
// A rows x cols matrix (rows = output features, cols = input features) is quantized group-wise along the input
// dimension with asymmetric round-to-nearest: per group of `group_size` consecutive inputs of one row, an fp16
// scale and an fp16 zero point (4 bytes), and `bits`-bit codes packed little-endian, each row padded to a whole
// byte. bits = 16 means unquantized fp16; bits = 32 means fp32. The cost model, models/ and the kernels all use
// this function, so a format change shows up everywhere at once.
#pragma once
#include <cstdint>

namespace splitsim {

constexpr int64_t kWeightGroupHeaderBytes = 4;  // fp16 scale + fp16 zero

constexpr int64_t quantized_row_code_bytes(int64_t cols, int bits) { return (cols * bits + 7) / 8; }

constexpr int64_t quantized_matrix_bytes(int64_t rows, int64_t cols, int bits, int group_size) {
  if (bits >= 16) return rows * cols * (bits / 8);
  const int64_t groups_per_row = (cols + group_size - 1) / group_size;
  return rows * (quantized_row_code_bytes(cols, bits) + groups_per_row * kWeightGroupHeaderBytes);
}

}  // namespace splitsim
