// Hidden-state formats of the method evaluation: the kernels' codec as it is (real encode and decode), and
// Atom's reordered mixed-precision format, simulated with its exact byte count.
#include "executor/methods/hidden_codec.hpp"

#include <vector>

#include "executor/methods/fake_quant.hpp"
#include "core/formats/wire_block.hpp"

namespace splitsim {

// ---------------------------------------------------------------------------------------------- kernels codec

KernelHiddenCodec::KernelHiddenCodec(CodecSpec c) : config_(std::move(c)) { config_.validate(codec_flag); }

int64_t KernelHiddenCodec::round_trip(Eigen::MatrixXf& x) const {
  std::vector<uint8_t> buf;
  Eigen::MatrixXf h;
  wire_encode(x, config_, buf);
  wire_decode(buf, x.rows(), h);
  x.swap(h);
  return static_cast<int64_t>(buf.size());
}

int64_t KernelHiddenCodec::encoded_bytes(const Eigen::MatrixXf& x) const { return wire_expected_size(x, config_); }

int64_t KernelHiddenCodec::metadata_bytes(int64_t T, int64_t) const {
  if (config_.codec == WireCodec::uniform) return kWireHeaderBytes + T * kUniformTokenHeaderBytes;
  if (config_.codec == WireCodec::ts_tabq) return kWireHeaderBytes + T * kTabqTokenHeaderBytes;
  return kWireHeaderBytes;
}

// ---------------------------------------------------------------------------------------------- Atom

int64_t atom_wire_metadata_bytes(const AtomLayout& a, int64_t T) {
  const int64_t outlier_scale = a.outliers.empty() ? 0 : 2;  // fp16
  return kWireHeaderBytes + T * (outlier_scale + 4 * a.groups());
}

int64_t atom_wire_bytes(const AtomLayout& a, int64_t T) {
  const auto k = static_cast<int64_t>(a.outliers.size()), n = static_cast<int64_t>(a.normal.size());
  return atom_wire_metadata_bytes(a, T) + T * (k + packed_code_bytes(n, a.bits));
}

void atom_quantize_token(const AtomLayout& a, const float* x, float* out) {
  std::vector<float> buf;
  buf.reserve(a.outliers.size());
  for (int32_t j : a.outliers) buf.push_back(x[j]);
  fake_quant_symmetric(buf, 8);
  for (size_t i = 0; i < a.outliers.size(); ++i) out[a.outliers[i]] = buf[i];
  const auto n = static_cast<int64_t>(a.normal.size());
  for (int64_t g0 = 0; g0 < n; g0 += a.group) {
    const int64_t g1 = std::min<int64_t>(n, g0 + a.group);
    buf.clear();
    for (int64_t i = g0; i < g1; ++i) buf.push_back(x[a.normal[static_cast<size_t>(i)]]);
    fake_quant_asymmetric(buf, a.bits, a.clip);
    for (int64_t i = g0; i < g1; ++i) out[a.normal[static_cast<size_t>(i)]] = buf[static_cast<size_t>(i - g0)];
  }
}

int64_t AtomHiddenCodec::round_trip(Eigen::MatrixXf& x) const {
  std::vector<float> tok(static_cast<size_t>(x.rows()));
  for (Eigen::Index c = 0; c < x.cols(); ++c) {
    atom_quantize_token(layout_, x.col(c).data(), tok.data());
    std::copy(tok.begin(), tok.end(), x.col(c).data());
  }
  return atom_wire_bytes(layout_, x.cols());
}

nlohmann::json AtomHiddenCodec::to_json() const {
  return {{"codec", "atom"},           {"bits", layout_.bits},   {"group", layout_.group},
          {"clip", layout_.clip},      {"outlier_bits", 8},      {"outlier_channels", layout_.outliers}};
}

}  // namespace splitsim
