// The method registry and the steps every method shares: cutting the model at the split, walking its layer
// matrices, storing a matrix in the kernels' packed format (or fp16 / fp32), choosing the wire.
#include "executor/methods/method.hpp"

#include <fmt/format.h>

#include <cmath>

#include "core/error.hpp"
#include "executor/methods/fake_quant.hpp"

namespace splitsim {

// Each method file defines its accessor; the registry lists them in the order tables show them.
const Method& rtn_method();
const Method& smoothquant_method();
const Method& omniquant_lwc_method();
const Method& atom_method();
const Method& llm_int8_method();
const Method& opsc_method();

namespace {
const std::vector<const Method*>& registry() {
  static const std::vector<const Method*> all = {&rtn_method(),  &smoothquant_method(), &omniquant_lwc_method(),
                                                 &atom_method(), &llm_int8_method(),    &opsc_method()};
  return all;
}
}  // namespace

const Method& find_method(std::string_view name) {
  for (const Method* m : registry())
    if (m->name() == name) return *m;
  throw InputError(fmt::format("--method: expected one of {}, got \"{}\"", fmt::join(method_names(), ", "), name));
}

std::vector<std::string> method_names() {
  std::vector<std::string> out;
  for (const Method* m : registry()) out.emplace_back(m->name());
  return out;
}

// ---------------------------------------------------------------------------------------------- settings

void MethodSettings::validate() const {
  auto bits_ok = [](int b) { return b == -1 || b == 2 || b == 3 || b == 4 || b == 8 || b == 16 || b == 32; };
  if (!bits_ok(edge_bits)) throw InputError(fmt::format("--edge-bits: expected 2, 3, 4, 8, 16 or 32, got {}", edge_bits));
  if (!bits_ok(cloud_bits)) throw InputError(fmt::format("--cloud-bits: expected 2, 3, 4, 8, 16 or 32, got {}", cloud_bits));
  if (group_size < 1) throw InputError(fmt::format("--group-size: expected a positive group size, got {}", group_size));
  if (act_bits != -1 && act_bits != 0 && (act_bits < 2 || act_bits > 8))
    throw InputError(fmt::format("--act-bits: expected 0 (none) or 2..8, got {}", act_bits));
  if (!(smooth_alpha >= 0 && smooth_alpha <= 1))
    throw InputError(fmt::format("--smooth-alpha: expected a number in [0, 1], got {}", smooth_alpha));
  if (!(int8_threshold > 0)) throw InputError(fmt::format("--int8-threshold: expected a positive number, got {}", int8_threshold));
  if (!(outlier_fraction >= 0 && outlier_fraction < 1))
    throw InputError(fmt::format("--outlier-fraction: expected a fraction in [0, 1), got {}", outlier_fraction));
  if (!(weight_clip > 0 && weight_clip <= 1) || !(act_clip > 0 && act_clip <= 1))
    throw InputError(fmt::format("--weight-clip/--act-clip: expected ratios in (0, 1], got {} and {}", weight_clip, act_clip));
  if (wire_codec) {
    CodecSpec w = wire;
    w.codec = *wire_codec;
    w.validate(codec_flag);
  }
}

nlohmann::json MethodSettings::to_json() const {
  nlohmann::json j{{"method", method},         {"split", split},           {"edge_bits", edge_bits},
                   {"cloud_bits", cloud_bits}, {"group_size", group_size}, {"act_bits", act_bits},
                   {"wire_codec", wire_codec ? wire_codec_name(*wire_codec) : "method"}};
  if (method == "smoothquant") j["smooth_alpha"] = smooth_alpha;
  if (method == "llm-int8") j["int8_threshold"] = int8_threshold;
  if (method == "atom") {
    j["outlier_fraction"] = outlier_fraction;
    j["weight_clip"] = weight_clip;
    j["act_clip"] = act_clip;
  }
  return j;
}

double WeightTally::bits_per_weight() const { return linear_params > 0 ? 8.0 * linear_bytes / linear_params : NAN; }

void WeightTally::add(int64_t rows, int64_t cols, double bytes) {
  linear_params += static_cast<double>(rows * cols);
  linear_bytes += bytes;
}

// ---------------------------------------------------------------------------------------------- shared steps

SplitModel split_parts(const ModelWeights& whole, const MethodSettings& s) {
  const ModelSpec& m = whole.spec;
  if (s.split < 0 || s.split > m.n_layers)
    throw InputError(fmt::format("--split: expected 0..{} for {}, got {}", m.n_layers, m.name, s.split));
  SplitModel out;
  out.settings = s;
  out.edge = whole;
  out.edge.keep_only(ModelPart::edge(s.split));
  out.server = whole;
  out.server.keep_only(ModelPart::server(m, s.split));
  // Every method keeps the embedding and the norms unquantized: 16 bits, and the embedding rounded to fp16 so
  // the accuracy is that of what is counted (the norms are d values per layer and stay fp32).
  round_to_half(out.edge.embedding);
  const double norm_bytes = 2.0 * 2.0 * static_cast<double>(m.dim);  // two (d) fp16 norms per layer
  out.edge_tally.other_bytes = 2.0 * static_cast<double>(out.edge.embedding.size()) + norm_bytes * static_cast<double>(s.split);
  out.server_tally.other_bytes =
      norm_bytes * static_cast<double>(m.n_layers - s.split) + 2.0 * static_cast<double>(m.dim);  // + final norm
  return out;
}

std::vector<LinearRef> layer_linears(ModelWeights& w) {
  std::vector<LinearRef> out;
  for (int64_t l = w.part.layer_begin; l < w.part.layer_end; ++l) {
    LayerWeights& lw = w.layers[static_cast<size_t>(l)];
    out.push_back({l, LinearInput::attn_in, &lw.wq});
    out.push_back({l, LinearInput::attn_in, &lw.wk});
    out.push_back({l, LinearInput::attn_in, &lw.wv});
    out.push_back({l, LinearInput::attn_out, &lw.wo});
    out.push_back({l, LinearInput::ffn_in, &lw.w1});
    out.push_back({l, LinearInput::ffn_in, &lw.w3});
    out.push_back({l, LinearInput::ffn_mid, &lw.w2});
  }
  return out;
}

double quantize_packed_or_float(Linear& m, int bits, int group_size) {
  if (bits == 32) return 4.0 * static_cast<double>(m.rows() * m.cols());
  if (bits == 16) {
    round_to_half({m.data(), static_cast<size_t>(m.rows() * m.cols())});
    return 2.0 * static_cast<double>(m.rows() * m.cols());
  }
  m.quantize(bits, std::min<int>(group_size, static_cast<int>(m.cols())));
  return m.bytes();
}

std::shared_ptr<const HiddenCodec> wire_or_override(const MethodSettings& s, std::shared_ptr<const HiddenCodec> own) {
  if (!s.wire_codec) return own;
  CodecSpec w = s.wire;
  w.codec = *s.wire_codec;
  return std::make_shared<KernelHiddenCodec>(w);
}

}  // namespace splitsim
