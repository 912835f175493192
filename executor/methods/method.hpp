// Quantization methods applied to a split model. A method decides how the edge weights, the server weights
// and the hidden state on the wire are represented, and, for weight-and-activation (W/A) methods, how the
// activations inside the layers are quantized. Each method lives in its own file naming the paper it follows:
//   rtn            rtn.cpp            plain group-wise round-to-nearest weights, per-token uniform activations
//   smoothquant    smoothquant.cpp    Xiao et al. 2023, W8A8 with smoothing folded into the RMSNorm weights
//   omniquant-lwc  omniquant_lwc.cpp  Shao et al. 2024, weight clipping found by search (no gradient training)
//   atom           atom.cpp           Zhao et al. 2024, W4A4 with reordered 8-bit outlier channels
//   llm-int8       llm_int8.cpp       Dettmers et al. 2022, |x| > 6 outliers in fp16, int8 for the rest
//   opsc           opsc.cpp           this project's OPSC weights + TS + TAB-Q wire (DESIGN.md)
// Formats the kernels have (OPSC packed weights, the fp16/uniform/TS + TAB-Q codec) are used as they are;
// the others are simulated quantization (fake-quant: values replaced by their dequantized values, bytes
// counted by the format's size function). Fake-quant measures accuracy and bytes, not speed.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "executor/methods/hidden_codec.hpp"
#include "executor/weights.hpp"
#include "executor/wire.hpp"

namespace splitsim {

class Calibration;  // executor/methods/calibration.hpp

// What to build. Bit-widths of -1 take the method's default; act_bits 0 means activations inside the layers
// stay fp32.
struct MethodSettings {
  std::string method = "opsc";
  int64_t split = 1;
  int edge_bits = -1, cloud_bits = -1;  // weight bits: 2, 3, 4, 8 (packed or simulated), 16 (fp16), 32 (fp32)
  int group_size = 128;                 // weight (and Atom activation) group along the input dimension
  int act_bits = -1;                    // activation bits inside the layers
  std::optional<WireCodec> wire_codec;  // none: the method's own wire
  CodecSpec wire{WireCodec::fp32};      // parameters of the kernels' codec (uniform bits, TS mode, TAB-Q)
  double smooth_alpha = 0.5;            // smoothquant: migration strength
  double int8_threshold = 6.0;          // llm-int8: |x| above it stays fp16
  double outlier_fraction = 128.0 / 4096.0;  // atom: channels kept at 8 bits (Atom: 128 of Llama-7B's 4096)
  double weight_clip = 0.85, act_clip = 0.9;  // atom: clipping ratios of its released configuration
  void validate() const;                // InputError naming the flag
  nlohmann::json to_json() const;
};

// Weights one side holds, counted in the method's storage format.
struct WeightTally {
  double linear_params = 0, linear_bytes = 0;  // layer matrices (and the head on the server)
  double other_bytes = 0;                      // embedding and norms, 16 bits in every method
  double bits_per_weight() const;              // 8 * linear_bytes / linear_params; NaN without matrices
  double bytes() const { return linear_bytes + other_bytes; }
  void add(int64_t rows, int64_t cols, double bytes);
};

// A split model as a method built it: the two halves, what they hold, and the wire between them.
struct SplitModel {
  MethodSettings settings;              // resolved: no -1 left
  ModelWeights edge, server;
  WeightTally edge_tally, server_tally;
  std::shared_ptr<const HiddenCodec> wire;
  std::string notes;                    // method parameters worth a CSV cell ("alpha=0.5")
};

class Method {
 public:
  virtual ~Method() = default;
  virtual std::string_view name() const = 0;
  virtual std::string_view follows() const = 0;  // the paper, one line
  virtual bool needs_calibration() const { return false; }
  // Fills every -1 in `s` with this method's defaults.
  virtual MethodSettings resolve(MethodSettings s) const = 0;
  // `s` resolved; `calib` is non-null when needs_calibration().
  virtual SplitModel build(const ModelWeights& reference, const MethodSettings& s, const Calibration* calib) const = 0;
};

const Method& find_method(std::string_view name);  // InputError listing the methods
std::vector<std::string> method_names();

// ---------------------------------------------------------------------------------------------- shared steps

// The edge part (embedding + layers [0, s)) and the server part (layers [s, L) + head) of `whole`, with the
// embedding rounded to fp16 and the norms and embedding counted at 16 bits in the tallies.
SplitModel split_parts(const ModelWeights& whole, const MethodSettings& s);

// Every layer matrix of a part, with the name of the activation it reads.
enum class LinearInput { attn_in, attn_out, ffn_in, ffn_mid };  // wq wk wv | wo | w1 w3 | w2
struct LinearRef {
  int64_t layer;
  LinearInput input;
  Linear* linear;
};
std::vector<LinearRef> layer_linears(ModelWeights& w);

// The kernels' packed group-wise weights at `bits` (2, 3, 4, 8), fp16 rounding (16) or fp32 (32); returns
// the bytes the matrix takes.
double quantize_packed_or_float(Linear& m, int bits, int group_size);

// The wire `s` asks for when it names a kernels codec, else `own`.
std::shared_ptr<const HiddenCodec> wire_or_override(const MethodSettings& s, std::shared_ptr<const HiddenCodec> own);

}  // namespace splitsim
