// The hidden state on the wire: a T x d block in the layout of core/formats/wire_block.hpp. fp32 passthrough is
// lossless; fp16, uniform and ts_tabq go through the kernels' codec (kernels/codec.hpp) when it is built.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "core/formats/wire_block.hpp"

namespace splitsim {

// What the edge asks for on the command line: --codec and its parameters.
struct WireConfig {
  std::string codec = "fp32";     // fp32 | fp16 | uniform | ts-tabq
  int uniform_bits = 8;           // uniform
  std::string ts_mode = "sigma";  // ts-tabq: none | fixed | percentile | sigma
  double ts_threshold = 6.0;      // fixed: tau; percentile: fraction of outliers; sigma: k
  double tabq_eps = 1e-3;         // TAB-Q relative error budget per token
  std::vector<int> tabq_bits = {2, 3, 4, 6, 8};
  void validate() const;          // InputError naming the flag
  nlohmann::json to_json() const;
};

bool codec_available(const std::string& codec);  // false for uniform/ts-tabq in a build without kernels/

// out = the wire block of x (d, T) — one token per column, i.e. a row-major T x d block.
void wire_encode(const Eigen::MatrixXf& x, const WireConfig& c, std::vector<uint8_t>& out);
// The codec's own prediction of the encoded size of x (kernels' analyze + encoded_size, no encoding):
// what the simulator's byte counts are based on.
int64_t wire_expected_size(const Eigen::MatrixXf& x, const WireConfig& c);
// x (d, T) from a wire block; InputError "wire block: ..." on a corrupt block or one whose d differs.
void wire_decode(std::span<const uint8_t> wire, int64_t d, Eigen::MatrixXf& x);

}  // namespace splitsim
