// Encoding the hidden state for the wire. The block layout is core/formats/wire_block.hpp's; fp32 is the plain
// bytes after the 16-byte header, so a passthrough split is bit-exact. The quantizing codecs are the kernels'
// (this file never quantizes on its own): without kernels/ in the build they are reported as unavailable.
#include "executor/wire.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "core/error.hpp"
#ifdef SPLITSIM_EXEC_HAVE_KERNELS
#include "kernels/codec.hpp"
#endif

namespace splitsim {

void WireConfig::validate() const {
  if (codec != "fp32" && codec != "fp16" && codec != "uniform" && codec != "ts-tabq")
    throw InputError(fmt::format("--codec: expected fp32, fp16, uniform or ts-tabq, got \"{}\"", codec));
  if (!codec_available(codec))
    throw InputError(fmt::format("--codec: {} needs the kernels/ codec, which this build does not have", codec));
  if (uniform_bits < 2 || uniform_bits > 16)
    throw InputError(fmt::format("--uniform-bits: expected 2..16, got {}", uniform_bits));
  if (ts_mode != "none" && ts_mode != "fixed" && ts_mode != "percentile" && ts_mode != "sigma")
    throw InputError(fmt::format("--ts-mode: expected none, fixed, percentile or sigma, got \"{}\"", ts_mode));
  if (!(tabq_eps > 0 && tabq_eps <= 1))
    throw InputError(fmt::format("--tabq-eps: expected a number in (0, 1], got {}", tabq_eps));
  if (!(std::isfinite(ts_threshold) && ts_threshold >= 0))
    throw InputError(fmt::format("--ts-threshold: expected a finite number >= 0, got {}", ts_threshold));
  if (ts_mode == "percentile" && ts_threshold >= 1)
    throw InputError(
        fmt::format("--ts-threshold: expected a fraction in [0, 1) with --ts-mode percentile, got {}", ts_threshold));
  for (int b : tabq_bits)
    if (b < 2 || b > 16) throw InputError(fmt::format("--tabq-bits: expected bit-widths in 2..16, got {}", b));
}

nlohmann::json WireConfig::to_json() const {
  nlohmann::json j{{"codec", codec}};
  if (codec == "uniform") j["uniform_bits"] = uniform_bits;
  if (codec == "ts-tabq") {
    j["ts_mode"] = ts_mode;
    j["ts_threshold"] = ts_threshold;
    j["tabq_eps"] = tabq_eps;
    j["tabq_bits"] = tabq_bits;
  }
  return j;
}

#ifdef SPLITSIM_EXEC_HAVE_KERNELS
namespace {
CodecParams codec_params(const WireConfig& c) {
  CodecParams p;
  p.codec = c.codec == "fp32" ? WireCodec::fp32
            : c.codec == "fp16" ? WireCodec::fp16
            : c.codec == "uniform" ? WireCodec::uniform
                                   : WireCodec::ts_tabq;
  p.ts_mode = parse_ts_mode(c.ts_mode);
  p.ts_threshold = c.ts_threshold;
  p.tabq_eps = c.tabq_eps;
  p.tabq_bits = c.tabq_bits;
  p.uniform_bits = c.uniform_bits;
  return p;
}
}  // namespace

bool codec_available(const std::string&) { return true; }

void wire_encode(const Eigen::MatrixXf& x, const WireConfig& c, std::vector<uint8_t>& out) {
  encode_into(x.data(), x.cols(), x.rows(), codec_params(c), out);
}

int64_t wire_expected_size(const Eigen::MatrixXf& x, const WireConfig& c) {
  return encoded_size(analyze(x.data(), x.cols(), x.rows(), codec_params(c)));
}

void wire_decode(std::span<const uint8_t> wire, int64_t d, Eigen::MatrixXf& x) {
  WireHeader h = read_wire_header(wire);
  if (h.d != d) throw InputError(fmt::format("wire block: expected d = {}, got {}", d, h.d));
  if (h.T < 1) throw InputError("wire block: expected at least one token");
  x.resize(d, h.T);
  decode_into(wire, {x.data(), static_cast<size_t>(x.size())});
}

#else  // fp32 passthrough only

bool codec_available(const std::string& codec) { return codec == "fp32"; }

// The block header of core/formats/wire_block.hpp, then T*d fp32.
void wire_encode(const Eigen::MatrixXf& x, const WireConfig& c, std::vector<uint8_t>& out) {
  if (c.codec != "fp32") throw InputError(fmt::format("--codec: {} needs the kernels/ codec", c.codec));
  const int64_t T = x.cols(), d = x.rows();
  out.resize(static_cast<size_t>(encoded_size_dense(WireCodec::fp32, T, d)));
  WireBlockHeader h;
  h.codec = static_cast<uint8_t>(WireCodec::fp32);
  h.T = static_cast<uint32_t>(T);
  h.d = static_cast<uint32_t>(d);
  write_block_header(out.data(), h);
  std::memcpy(out.data() + kWireHeaderBytes, x.data(), static_cast<size_t>(T * d) * 4);
}

int64_t wire_expected_size(const Eigen::MatrixXf& x, const WireConfig& c) {
  if (c.codec != "fp32") throw InputError(fmt::format("--codec: {} needs the kernels/ codec", c.codec));
  return encoded_size_dense(WireCodec::fp32, x.cols(), x.rows());
}

void wire_decode(std::span<const uint8_t> wire, int64_t d, Eigen::MatrixXf& x) {
  if (wire.size() < static_cast<size_t>(kWireHeaderBytes)) throw InputError("wire block: expected magic \"SSW1\"");
  const WireBlockHeader h = read_block_header(wire.data());
  if (h.magic != kWireMagic) throw InputError("wire block: expected magic \"SSW1\"");
  if (h.version != kWireVersion) throw InputError(fmt::format("wire block: expected version {}, got {}", kWireVersion, h.version));
  if (h.codec != static_cast<uint8_t>(WireCodec::fp32))
    throw InputError(fmt::format("wire block: codec {} needs the kernels/ codec (this build decodes fp32 only)", h.codec));
  const int64_t T = h.T, dd = h.d;
  if (dd != d) throw InputError(fmt::format("wire block: expected d = {}, got {}", d, dd));
  if (T < 1 || static_cast<int64_t>(wire.size()) != encoded_size_dense(WireCodec::fp32, T, d))
    throw InputError(fmt::format("wire block: expected {} B for T = {}, got {} B",
                                 encoded_size_dense(WireCodec::fp32, T, d), T, wire.size()));
  x.resize(d, T);
  std::memcpy(x.data(), wire.data() + kWireHeaderBytes, static_cast<size_t>(T * d) * 4);
}

#endif

}  // namespace splitsim
