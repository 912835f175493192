// The hidden state on the wire: a T x d block in the layout of core/formats/wire_block.hpp. fp32 passthrough is
// lossless; fp16, uniform and ts-tabq go through the kernels' codec (kernels/codec.hpp). The parameters are
// core/codec.hpp's CodecSpec.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "core/codec.hpp"
#include "core/formats/wire_block.hpp"

namespace splitsim {

// out = the wire block of x (d, T) — one token per column, i.e. a row-major T x d block.
void wire_encode(const Eigen::MatrixXf& x, const CodecSpec& c, std::vector<uint8_t>& out);
// The codec's own prediction of the encoded size of x (kernels' analyze + encoded_size, no encoding):
// what the simulator's byte counts are based on.
int64_t wire_expected_size(const Eigen::MatrixXf& x, const CodecSpec& c);
// x (d, T) from a wire block; InputError "wire block: ..." on a corrupt block or one whose d differs.
void wire_decode(std::span<const uint8_t> wire, int64_t d, Eigen::MatrixXf& x);

}  // namespace splitsim
