// The hidden state on the wire, as the method evaluation sees it: a block X (d, T) goes in, what the server
// decodes comes out, with the exact bytes the block takes. Two kinds:
//   KernelHiddenCodec  the kernels' codec (fp32, fp16, uniform, TS + TAB-Q) through executor/wire.hpp: real
//                      encoded buffers, sizes from core/formats/wire_block.hpp;
//   AtomHiddenCodec    Atom's reordered mixed-precision format (atom.cpp), which the kernels do not have:
//                      simulated (fake-quant values), its size from atom_wire_bytes().
// "Metadata" is every byte that is not a code or an outlier entry: the 16 B block header and the per-token
// (per-group) bit-widths, minima, scales and counts. With d = 64 (stories260K) it is a large share of a
// one-token block, so the evaluation reports bits per element with and without it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include "executor/wire.hpp"

namespace splitsim {

class HiddenCodec {
 public:
  virtual ~HiddenCodec() = default;
  virtual std::string name() const = 0;
  // x (d, T) -> what the server decodes; returns the bytes of the block.
  virtual int64_t round_trip(Eigen::MatrixXf& x) const = 0;
  // Bytes x (d, T) would take, without decoding.
  virtual int64_t encoded_bytes(const Eigen::MatrixXf& x) const = 0;
  // Block header and per-token / per-group headers of a (d, T) block.
  virtual int64_t metadata_bytes(int64_t T, int64_t d) const = 0;
  virtual nlohmann::json to_json() const = 0;
  // The kernels' codec settings, or nullptr for a format of executor/methods/.
  virtual const CodecSpec* kernels_config() const { return nullptr; }
};

class KernelHiddenCodec final : public HiddenCodec {
 public:
  explicit KernelHiddenCodec(CodecSpec c);  // validates
  std::string name() const override { return wire_codec_name(config_.codec); }
  int64_t round_trip(Eigen::MatrixXf& x) const override;
  int64_t encoded_bytes(const Eigen::MatrixXf& x) const override;
  int64_t metadata_bytes(int64_t T, int64_t d) const override;
  nlohmann::json to_json() const override { return config_.to_json(); }
  const CodecSpec* kernels_config() const override { return &config_; }

 private:
  CodecSpec config_;
};

// Atom's format for one token of d values: the channels in `outliers` as int8 with one fp16 scale
// (symmetric), the others, in the order `normal`, in groups of `group` at `bits` with an fp16 minimum and
// fp16 step per group (asymmetric, range clipped by `clip`). Channel orders are fixed at calibration and known
// to both sides, so no index travels. Layout per block: the 16 B wire header, then per token: fp16 scale,
// int8 outlier codes, then per group fp16 min + fp16 step, then the packed codes of all normal channels.
struct AtomLayout {
  std::vector<int32_t> outliers;  // channel indices kept at 8 bits
  std::vector<int32_t> normal;    // the other channels, in quantization order (calibration magnitude ascending)
  int bits = 4, group = 128;
  double clip = 0.9;
  int64_t groups() const { return (static_cast<int64_t>(normal.size()) + group - 1) / group; }
};
int64_t atom_wire_bytes(const AtomLayout& a, int64_t T);
int64_t atom_wire_metadata_bytes(const AtomLayout& a, int64_t T);
// One token (d values, any order given by the layout) replaced by its Atom quantization.
void atom_quantize_token(const AtomLayout& a, const float* x, float* out);

class AtomHiddenCodec final : public HiddenCodec {
 public:
  explicit AtomHiddenCodec(AtomLayout a) : layout_(std::move(a)) {}
  std::string name() const override { return "atom"; }
  int64_t round_trip(Eigen::MatrixXf& x) const override;
  int64_t encoded_bytes(const Eigen::MatrixXf& x) const override { return atom_wire_bytes(layout_, x.cols()); }
  int64_t metadata_bytes(int64_t T, int64_t) const override { return atom_wire_metadata_bytes(layout_, T); }
  nlohmann::json to_json() const override;

 private:
  AtomLayout layout_;
};

}  // namespace splitsim
