// Encoding the hidden state for the wire. The block layout is core/formats/wire_block.hpp's; fp32 is the plain
// bytes after the 16-byte header, so a passthrough split is bit-exact. The quantizing codecs are the kernels'
// (this file never quantizes on its own).
#include "executor/wire.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "core/error.hpp"
#include "kernels/codec.hpp"

namespace splitsim {

void wire_encode(const Eigen::MatrixXf& x, const CodecSpec& c, std::vector<uint8_t>& out) {
  encode_into(x.data(), x.cols(), x.rows(), codec_params(c), out);
}

int64_t wire_expected_size(const Eigen::MatrixXf& x, const CodecSpec& c) {
  return encoded_size(analyze(x.data(), x.cols(), x.rows(), codec_params(c)));
}

void wire_decode(std::span<const uint8_t> wire, int64_t d, Eigen::MatrixXf& x) {
  WireHeader h = read_wire_header(wire);
  if (h.d != d) throw InputError(fmt::format("wire block: expected d = {}, got {}", d, h.d));
  if (h.T < 1) throw InputError("wire block: expected at least one token");
  x.resize(d, h.T);
  decode_into(wire, {x.data(), static_cast<size_t>(x.size())});
}

}  // namespace splitsim
