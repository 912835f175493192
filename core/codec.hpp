// The hidden-state codec's vocabulary, in one place: the names of its codecs and threshold modes, and the
// parameters of one encode (CodecSpec). The scenario's [codec] table, the executor's --codec flags, the kernels
// (CPU and CUDA), the cost model's measured tables and every output spell the codecs with these names.
//
// Codecs: fp32 (lossless passthrough), fp16, uniform (per-token asymmetric quantization at one bit-width),
// ts-tabq (Threshold Splitting of outliers, then Token-wise Adaptive Bit Quantization). The kernels document
// what each parameter does (kernels/codec.hpp).
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/formats/wire_block.hpp"

namespace splitsim {

enum class TsMode : uint8_t { none, fixed, percentile, sigma };
constexpr int kMaxAllowedBits = 8;  // at most this many entries in the TAB-Q allowed set

const char* wire_codec_name(WireCodec c);  // "fp32" | "fp16" | "uniform" | "ts-tabq"
const char* ts_mode_name(TsMode m);        // "none" | "fixed" | "percentile" | "sigma"
std::optional<WireCodec> wire_codec_from_name(std::string_view s);
std::optional<TsMode> ts_mode_from_name(std::string_view s);
std::string wire_codec_names();  // "fp32, fp16, uniform or ts-tabq", for error messages
std::string ts_mode_names();     // "none, fixed, percentile or sigma"
// As above, or InputError "<where>: <key>: expected one of ..., got ...".
WireCodec parse_wire_codec(std::string_view s, const std::string& where = "codec", const std::string& key = "codec");
TsMode parse_ts_mode(std::string_view s, const std::string& where = "codec", const std::string& key = "ts_mode");

std::string codec_key(const char* field);   // "codec: <field>"
std::string codec_flag(const char* field);  // "--<field with dashes>"

// One encode's parameters.
struct CodecSpec {
  WireCodec codec = WireCodec::ts_tabq;
  TsMode ts_mode = TsMode::sigma;
  double ts_threshold = 6.0;  // fixed: tau; percentile: fraction rho of outliers; sigma: k
  int sigma_iterations = 2;   // sigma mode: 1 = plain mu + k sigma, 2 = one clipping iteration
  double tabq_eps = 1e-3;     // relative error budget per token: Delta^2 / 12 <= eps * var_t
  std::vector<int> tabq_bits = {2, 3, 4, 6, 8};  // allowed bit-widths, each in [2, 16]
  int uniform_bits = 8;       // uniform codec, in [2, 16]

  // InputError "<name>: expected ..., got ..." on a value the codec cannot run with; `name` spells a field
  // ("ts_threshold") as the caller's input does: codec_key (the scenario's "codec: ts_threshold") or codec_flag
  // (the executor's "--ts-threshold").
  void validate(const std::function<std::string(const char* field)>& name) const;
  // The codec and the parameters it uses (a ts-tabq spec's uniform_bits is not written).
  nlohmann::json to_json() const;
};

// What a ts-tabq stream is expected to carry: TAB-Q bits per dense element and outliers per token. An input of
// the cost model's wire sizes, not a setting: the scenario's [codec] table gives a default, and the optimizer
// (from the codec model, per codec setting) and validation (from the executor's replayed blocks) give the
// statistics they derived or measured, on the System, without rewriting the user's scenario.
struct CodecStatistics {
  double mean_bits = 4.0;
  double outliers_per_token = 8.0;
  nlohmann::json to_json() const { return {{"mean_bits", mean_bits}, {"outliers_per_token", outliers_per_token}}; }
};

}  // namespace splitsim
