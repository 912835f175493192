#include "hwprofiles/cost_model.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <utility>
#include <vector>

#include "core/formats/frame.hpp"
#include "core/formats/kv_move.hpp"
#include "hwprofiles/gpu_costs.hpp"
#include "hwprofiles/measured_tables.hpp"
#include "core/formats/wire_block.hpp"

namespace splitsim {
namespace {

// Kernel launches per transformer layer in a decode step: rmsnorm, fused qkv, rope, attention, o-projection
// (+residual), rmsnorm, fused gate/up, activation, down (+residual). A fused decoder (llama.cpp, TensorRT-LLM)
// launches about this many; the launch overhead per kernel comes from the hardware profile.
constexpr double kLaunchesPerLayer = 9;
constexpr double kLaunchesHead = 2;   // final norm + LM head GEMV
constexpr double kLaunchesCodec = 3;  // row statistics, outlier split, pack

// Weight-only quantization dequantizes to fp16 and multiplies there, so matmuls run at the fp16 rate (fp32 on
// a device without fp16 arithmetic).
constexpr const char* kComputePrecision = "fp16";
constexpr double kActivationBytes = 2;  // fp16 activations on the devices

// --- measured tables (hwprofiles/measured_tables.hpp): when a profile has them for this model and bit-width,
// they replace the roofline, so a host-cpu profile predicts the real executor on the host it was measured on.

const LayerTable* measured_layer(const HwProfile& hw, const ModelSpec& m, int bits) {
  if (!hw.measured) return nullptr;
  const LayerTable* t = hw.measured->layer(m.name, bits);
  return t && t->dim == m.dim ? t : nullptr;
}

// --- a GPU's measured kernel calibration (hwprofiles/gpu_costs.hpp): when a profile names one, its GEMV, GEMM,
// codec and launch times replace the roofline wherever they cover the bit-width or codec.

double launch_cost(const HwProfile& hw) { return hw.gpu ? hw.gpu->launch() : hw.launch_overhead.value; }

// The matmul launches of one layer as a fused decoder issues them (kLaunchesPerLayer): the projections that read the
// same normed input (q, k, v; gate and up) stacked into one matrix each, then o and down: rows x cols.
std::vector<std::pair<int64_t, int64_t>> fused_matmuls(const ModelSpec& m) {
  int64_t attn_in = 0, mlp_in = 0;
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const auto& x : m.layer_matrices()) {
    if (x.name == "wo" || x.name == "w2")
      out.emplace_back(x.rows, x.cols);
    else
      (x.attention ? attn_in : mlp_in) += x.rows;
  }
  out.emplace_back(attn_in, m.dim);
  if (mlp_in > 0) out.emplace_back(mlp_in, m.dim);
  return out;
}
constexpr double kMatmulLaunchesPerLayer = 4;  // qkv, o, gate/up, down of the nine

// Measured matmul time of one layer for `tokens` tokens, when the GPU's calibration covers `bits`.
std::optional<double> gpu_layer_matmuls(const HwProfile& hw, const ModelSpec& m, int bits, int group_size, int64_t tokens) {
  if (!hw.gpu || !hw.gpu->covers_matmul(bits)) return std::nullopt;
  double t = 0;
  for (const auto& [rows, cols] : fused_matmuls(m)) t += hw.gpu->matmul(bits, group_size, rows, cols, tokens).value();
  return t;
}

// The codec's name (core/codec.hpp) for a wire format, as measured tables key it; nullptr when nothing is encoded.
const char* executor_codec(WireFormat f) {
  const auto c = hidden_codec(f);
  return c ? wire_codec_name(*c) : nullptr;
}

}  // namespace

nlohmann::json MemoryBreakdown::to_json() const {
  return {{"weights", weights}, {"kv_cache", kv_cache}, {"workspace", workspace}, {"runtime", runtime},
          {"total", total()},   {"capacity", capacity}, {"oom", oom()}};
}

StageTimes& StageTimes::operator+=(const StageTimes& o) {
  edge_compute += o.edge_compute;
  encode += o.encode;
  uplink += o.uplink;
  server_queue += o.server_queue;
  server_decode += o.server_decode;
  server_compute += o.server_compute;
  downlink += o.downlink;
  return *this;
}

StageTimes StageTimes::scaled(double f) const {
  StageTimes s = *this;
  s.edge_compute *= f;
  s.encode *= f;
  s.uplink *= f;
  s.server_queue *= f;
  s.server_decode *= f;
  s.server_compute *= f;
  s.downlink *= f;
  return s;
}

nlohmann::json StageTimes::to_json() const {
  nlohmann::json j{{"edge_compute", edge_compute}, {"encode", encode},     {"uplink", uplink},
                   {"server_decode", server_decode}, {"server_compute", server_compute}, {"downlink", downlink},
                   {"total", total()}};
  if (server_queue > 0) j["server_queue"] = server_queue;  // absent: as before
  return j;
}

nlohmann::json Estimate::to_json() const {
  return {{"prompt_tokens", prompt_tokens},
          {"output_tokens", output_tokens},
          {"edge_memory", edge_memory.to_json()},
          {"server_memory", server_memory.to_json()},
          {"server_max_sequences", server_max_sequences},
          {"prefill", prefill.to_json()},
          {"decode_mean", decode_mean.to_json()},
          {"ttft", ttft},
          {"tpot", tpot},
          {"e2e", e2e},
          {"tbt_max", tbt_max},
          {"bytes_up_prefill", bytes_up_prefill},
          {"bytes_up_per_token", bytes_up_per_token},
          {"bytes_down_per_token", bytes_down_per_token},
          {"bytes_up_total", bytes_up_total},
          {"bytes_down_total", bytes_down_total},
          {"server_busy_per_token", server_busy_per_token},
          {"wire_bytes_estimated", estimated_codec}};
}

CostModel::CostModel(const System& sys)
    : sys_(sys), matmul_params_(sys.model.attn_params() + sys.model.mlp_params()) {
  measured_ = sys.server.measured != nullptr;
  for (const auto& g : sys.fleet) measured_ = measured_ || g.device.measured != nullptr;
}

double CostModel::layer_bytes(int bits, int group_size) const {
  for (const auto& [b, g, v] : layer_bytes_memo_)
    if (b == bits && g == group_size) return v;
  const double v = sys_.model.layer_weight_bytes(bits, group_size);
  layer_bytes_memo_.emplace_back(bits, group_size, v);
  return v;
}

double CostModel::op_time(const HwProfile& hw, double flops, double bytes, double launches, double weight_bits) {
  double compute = flops / (hw.peak_for(kComputePrecision) * hw.efficiency_compute.value);
  double memory = bytes / (hw.memory_bandwidth.value * hw.memory_efficiency(weight_bits));
  return std::max(compute, memory) + launches * launch_cost(hw);
}

double CostModel::layers_decode(const HwProfile& hw, int bits, int64_t layers, int64_t batch,
                                double sum_context) const {
  if (layers <= 0 || batch <= 0) return 0;
  const ModelSpec& m = sys_.model;
  const double B = static_cast<double>(batch);
  if (const LayerTable* t = measured_layer(hw, m, bits))
    return static_cast<double>(layers) * t->decode(B, sum_context);
  // Attention: each sequence reads its own KV cache.
  double att_flops = 4.0 * static_cast<double>(m.n_heads * m.head_dim()) * sum_context;
  double att_bytes = m.kv_bytes_per_token_layer(static_cast<int>(sys_.plan.kv_bits)) * sum_context;
  const int gs = static_cast<int>(sys_.scenario.split.group_size);
  if (auto mats = gpu_layer_matmuls(hw, m, bits, gs, batch))
    return static_cast<double>(layers) * (*mats + op_time(hw, att_flops, att_bytes, 1) +
                                          (kLaunchesPerLayer - kMatmulLaunchesPerLayer - 1) * launch_cost(hw));
  // Matmuls: the layer's weights are read once for the whole batch.
  double mat_flops = B * 2.0 * static_cast<double>(matmul_params_);
  double mat_bytes = layer_bytes(bits, gs) + B * kActivationBytes * static_cast<double>(4 * m.dim + 2 * m.hidden_dim);
  double per_layer =
      op_time(hw, mat_flops, mat_bytes, kLaunchesPerLayer - 1, bits) + op_time(hw, att_flops, att_bytes, 1);
  return static_cast<double>(layers) * per_layer;
}

double CostModel::layers_prefill(const HwProfile& hw, int bits, int64_t layers, int64_t T) const {
  return layers_prefill(hw, bits, layers, std::span<const int64_t>(&T, 1));
}

// Prefill blocks of one batch run as one pass over all their tokens: the matrices are read once for every token of
// every block; attention is per block (each attends to its own cache). Measured tables time one block of T tokens,
// so a batch is costed as one block of the summed tokens (the attention share of a layer is small at these T).
double CostModel::layers_prefill(const HwProfile& hw, int bits, int64_t layers, std::span<const int64_t> blocks) const {
  double total = 0, att_pairs = 0;
  for (int64_t T : blocks) {
    if (T <= 0) continue;
    total += static_cast<double>(T);
    att_pairs += static_cast<double>(T) * static_cast<double>(T + 1) / 2;
  }
  if (layers <= 0 || total <= 0) return 0;
  const ModelSpec& m = sys_.model;
  if (const LayerTable* lt = measured_layer(hw, m, bits)) return static_cast<double>(layers) * lt->prefill.at(total);
  double att_flops = 4.0 * static_cast<double>(m.n_heads * m.head_dim()) * att_pairs;
  double att_bytes = 2.0 * m.kv_bytes_per_token_layer(static_cast<int>(sys_.plan.kv_bits)) * total;  // write + read
  const int gs = static_cast<int>(sys_.scenario.split.group_size);
  if (auto mats = gpu_layer_matmuls(hw, m, bits, gs, static_cast<int64_t>(total)))
    return static_cast<double>(layers) * (*mats + op_time(hw, att_flops, att_bytes, 1) +
                                          (kLaunchesPerLayer - kMatmulLaunchesPerLayer - 1) * launch_cost(hw));
  double mat_flops = total * 2.0 * static_cast<double>(matmul_params_);
  double mat_bytes = layer_bytes(bits, gs) + total * kActivationBytes * static_cast<double>(4 * m.dim + 2 * m.hidden_dim);
  double per_layer =
      op_time(hw, mat_flops, mat_bytes, kLaunchesPerLayer - 1, bits) + op_time(hw, att_flops, att_bytes, 1);
  return static_cast<double>(layers) * per_layer;
}

double CostModel::head_time(const HwProfile& hw, int bits, int64_t tokens) const {
  const ModelSpec& m = sys_.model;
  if (const LayerTable* t = measured_layer(hw, m, bits))
    return t->head.at(static_cast<double>(tokens));
  const int gs = static_cast<int>(sys_.scenario.split.group_size);
  if (hw.gpu && hw.gpu->covers_matmul(bits))
    return hw.gpu->matmul(bits, gs, m.vocab_size, m.dim, tokens).value() + (kLaunchesHead - 1) * launch_cost(hw);
  double flops = static_cast<double>(tokens) * m.head_flops();
  double bytes = matrix_bytes(m.vocab_size, m.dim, bits, gs);
  return op_time(hw, flops, bytes, kLaunchesHead, bits);
}

double CostModel::codec_time(const HwProfile& hw, int64_t T, bool encode) const {
  if (sys_.plan.wire == WireFormat::token_ids || sys_.plan.wire == WireFormat::none) return 0;
  if (hw.gpu && (sys_.plan.wire == WireFormat::ts_tabq || sys_.plan.wire == WireFormat::uniform)) {
    const std::string codec = executor_codec(sys_.plan.wire);
    if (auto t = encode ? hw.gpu->encode(codec, sys_.model.dim, T) : hw.gpu->decode(codec, sys_.model.dim, T)) return *t;
  }
  const double in_bytes = static_cast<double>(T * sys_.model.dim) * 4.0;  // fp32 hidden state
  if (hw.codec_throughput) return in_bytes / hw.codec_throughput->value + kLaunchesCodec * launch_cost(hw);
  // Two passes over the input (row statistics, then quantize and pack) plus the encoded output.
  double passes = sys_.plan.wire == WireFormat::fp16 || sys_.plan.wire == WireFormat::fp32 ? 1.0 : 2.0;
  return op_time(hw, 0, passes * in_bytes + uplink_bytes(T), kLaunchesCodec);
}

double CostModel::edge_prefill(size_t g, int64_t T) const {
  const HwProfile& hw = sys_.fleet[g].device;
  const Plan& p = sys_.plan;
  if (!p.edge_embeds) return 0;
  double t = layers_prefill(hw, static_cast<int>(p.edge_bits), p.split_at(T - 1), T);
  if (!p.server_has_head) t += head_time(hw, static_cast<int>(p.edge_bits), 1);
  return t;
}

double CostModel::edge_step(size_t g, int64_t ctx) const { return edge_step_at(g, sys_.plan.split_at(ctx - 1), ctx); }

double CostModel::edge_step_at(size_t g, int64_t split, int64_t ctx) const {
  const HwProfile& hw = sys_.fleet[g].device;
  const Plan& p = sys_.plan;
  if (!p.edge_embeds) return 0;
  double t = layers_decode(hw, static_cast<int>(p.edge_bits), split, 1, static_cast<double>(ctx));
  if (!p.server_has_head) t += head_time(hw, static_cast<int>(p.edge_bits), 1);
  return t;
}

double CostModel::edge_encode(size_t g, int64_t T) const {
  const HwProfile& hw = sys_.fleet[g].device;
  const char* codec = executor_codec(sys_.plan.wire);
  if (codec && hw.measured)
    if (const CodecTable* c = hw.measured->codec(codec, sys_.model.dim)) return c->encode.at(static_cast<double>(T));
  return codec_time(hw, T, true);
}

double CostModel::wake(Wake stage, double gap, size_t g) const {
  const bool device = stage == Wake::edge || stage == Wake::encode;
  const HwProfile& hw = device ? sys_.fleet[g].device : sys_.server;
  if (!hw.measured) return 1.0;
  const Curve* c = nullptr;
  if (stage == Wake::edge || stage == Wake::server) {
    const int bits = static_cast<int>(device ? sys_.plan.edge_bits : sys_.plan.cloud_bits);
    if (const LayerTable* t = measured_layer(hw, sys_.model, bits)) c = device ? &t->wake_edge : &t->wake_server;
  } else if (const char* codec = executor_codec(sys_.plan.wire)) {
    if (const CodecTable* t = hw.measured->codec(codec, sys_.model.dim))
      c = stage == Wake::encode ? &t->wake_encode : &t->wake_decode;
  }
  return c && !c->xs.empty() ? std::max(1.0, c->clamped(gap)) : 1.0;
}

CostModel::WakePenalty CostModel::device_wake(size_t g, double idle, int64_t split, int64_t context) const {
  WakePenalty p;
  if (!measured_) return p;  // the simulator asks at every step
  if (const double f = wake(Wake::edge, idle, g); f > 1) p.compute = (f - 1) * edge_step_at(g, split, context);
  if (const double f = wake(Wake::encode, idle, g); f > 1) p.codec = (f - 1) * edge_encode(g, 1);
  return p;
}

CostModel::WakePenalty CostModel::server_wake(double idle, int64_t split, double context) const {
  WakePenalty p;
  if (!measured_) return p;
  if (const double f = wake(Wake::server, idle); f > 1) p.compute = (f - 1) * server_step_at(split, 1, context);
  if (const double f = wake(Wake::decode, idle); f > 1) p.codec = (f - 1) * server_decode_codec(1);
  return p;
}

double CostModel::server_handoff() const { return sys_.server.measured ? sys_.server.measured->transport.handoff : 0.0; }

double CostModel::server_decode_codec(int64_t T) const {
  const char* codec = executor_codec(sys_.plan.wire);
  if (codec && sys_.server.measured)
    if (const CodecTable* c = sys_.server.measured->codec(codec, sys_.model.dim)) return c->decode.at(static_cast<double>(T));
  return codec_time(sys_.server, T, false);
}

int64_t CostModel::kv_move_rows(int64_t cached) const {
  // The codec's cost is linear in the elements: the moved KV as hidden-state-wide rows.
  return (2 * cached * sys_.model.kv_dim() + sys_.model.dim - 1) / sys_.model.dim;
}

double CostModel::server_kv_move_decode(int64_t layers, int64_t cached) const {
  return layers > 0 ? static_cast<double>(layers) * server_decode_codec(kv_move_rows(cached)) : 0.0;
}

double CostModel::server_prefill(int64_t T) const {
  const Plan& p = sys_.plan;
  if (!p.server_has_head) return 0;
  const int bits = static_cast<int>(p.cloud_bits);
  return layers_prefill(sys_.server, bits, sys_.model.n_layers - p.split_at(T - 1), T) + head_time(sys_.server, bits, 1);
}

double CostModel::server_prefills(std::span<const int64_t> blocks) const {
  const Plan& p = sys_.plan;
  const int bits = static_cast<int>(p.cloud_bits);
  if (!p.schedule || !p.schedule->moves()) return layers_prefill(sys_.server, bits, server_layers(), blocks);
  // Under a moving schedule a prompt enters at the split of its last position: one pass per split.
  double t = 0;
  std::vector<int64_t> done, same;
  for (int64_t T : blocks) {
    const int64_t s = p.split_at(T - 1);
    if (std::find(done.begin(), done.end(), s) != done.end()) continue;
    done.push_back(s);
    same.clear();
    for (int64_t U : blocks)
      if (p.split_at(U - 1) == s) same.push_back(U);
    t += layers_prefill(sys_.server, bits, sys_.model.n_layers - s, same);
  }
  return t;
}

double CostModel::server_step(int64_t batch, double sum_context) const {
  return server_step_at(sys_.plan.split_layer, batch, sum_context);
}

double CostModel::server_step_at(int64_t split, int64_t batch, double sum_context) const {
  const Plan& p = sys_.plan;
  if (!p.server_has_head || batch <= 0) return 0;
  const int bits = static_cast<int>(p.cloud_bits);
  return layers_decode(sys_.server, bits, sys_.model.n_layers - split, batch, sum_context) +
         head_time(sys_.server, bits, batch);
}

double CostModel::server_iteration(std::span<const int64_t> prefill_tokens, std::span<const DecodeBand> decode) const {
  const Plan& p = sys_.plan;
  int64_t steps = 0;
  for (const DecodeBand& b : decode) steps += b.steps;
  const int64_t columns = static_cast<int64_t>(prefill_tokens.size()) + steps;
  if (!p.server_has_head || columns == 0) return 0;
  const int bits = static_cast<int>(p.cloud_bits);
  // Bands by split; layers [s_j, s_j+1) run over the steps of bands 0..j (their splits are at or below s_j).
  std::vector<DecodeBand> bands(decode.begin(), decode.end());
  std::sort(bands.begin(), bands.end(), [](const DecodeBand& a, const DecodeBand& b) { return a.split < b.split; });
  double t = head_time(sys_.server, bits, columns);
  int64_t active = 0;
  double context = 0;
  for (size_t j = 0; j < bands.size(); ++j) {
    active += bands[j].steps;
    context += bands[j].sum_context;
    const int64_t until = j + 1 < bands.size() ? bands[j + 1].split : sys_.model.n_layers;
    t += layers_decode(sys_.server, bits, until - bands[j].split, active, context);
  }
  return t + server_prefills(prefill_tokens);
}

double CostModel::server_iteration(std::span<const int64_t> prefill_tokens, int64_t decode_steps,
                                   double sum_context) const {
  const Plan& p = sys_.plan;
  const int64_t columns = static_cast<int64_t>(prefill_tokens.size()) + decode_steps;
  if (!p.server_has_head || columns == 0) return 0;
  const int bits = static_cast<int>(p.cloud_bits);
  double t = layers_decode(sys_.server, bits, server_layers(), decode_steps, sum_context) +
             head_time(sys_.server, bits, columns);
  t += server_prefills(prefill_tokens);
  return t;
}

double CostModel::server_step(std::span<const int64_t> contexts) const {
  double sum = 0;
  for (auto c : contexts) sum += static_cast<double>(c);
  return server_step(static_cast<int64_t>(contexts.size()), sum);
}

double CostModel::uplink_bytes(int64_t T) const {
  switch (sys_.plan.wire) {
    case WireFormat::none: return 0;
    case WireFormat::token_ids: return static_cast<double>(kFrameHeaderBytes + T * kTokenPayloadBytes);
    default: return static_cast<double>(kFrameHeaderBytes) + wire_block_bytes(T, sys_.model.dim);
  }
}

double CostModel::kv_move_bytes(int64_t positions) const {
  return static_cast<double>(kFrameHeaderBytes + kKvMoveHeaderBytes) +
         wire_block_bytes(2 * positions, sys_.model.kv_dim());
}

int64_t CostModel::layers_moved_at(int64_t prompt, int64_t k) const {
  const Plan& p = sys_.plan;
  if (!p.schedule || k < 1) return 0;
  return p.split_at(prompt + k - 2) - p.split_at(prompt + k - 1);  // k = 1: the prompt's last position, prompt - 1
}

double CostModel::moved_bytes(int64_t prompt, int64_t output) const {
  const Plan& p = sys_.plan;
  if (!p.schedule || !p.schedule->moves()) return 0;
  // Only the decode step that reaches a band's context moves, k = context - prompt + 1 (a band the prompt already
  // reaches is in effect from the prefill on).
  double b = 0;
  for (const SplitBand& band : p.schedule->bands()) {
    const int64_t k = band.context - prompt + 1;
    if (k < 1) continue;
    if (k >= output) break;
    b += static_cast<double>(layers_moved_at(prompt, k)) * kv_move_bytes(band.context);
  }
  return b;
}

double CostModel::wire_block_bytes(int64_t T, int64_t d) const {
  const Plan& p = sys_.plan;
  double payload = 0;
  switch (p.wire) {
    case WireFormat::none:
    case WireFormat::token_ids: return 0;
    case WireFormat::fp16: payload = static_cast<double>(encoded_size_dense(WireCodec::fp16, T, d)); break;
    case WireFormat::uniform:
      payload = expected_encoded_size(WireCodec::uniform, T, d, static_cast<double>(p.wire_bits), 0);
      break;
    case WireFormat::ts_tabq: {
      // The expectation of a mix of whole bit-widths: exact between integral widths (the size is affine in the
      // bits there), so a run's measured mean bits reproduce its total bytes exactly. Integral mean_bits give
      // expected_encoded_size unchanged.
      const CodecStatistics& c = sys_.codec_stats;
      const double lo = std::floor(c.mean_bits), f = c.mean_bits - lo;
      const double outliers =
          c.outliers_per_token * static_cast<double>(d) / static_cast<double>(sys_.model.dim);  // per row of d
      payload = expected_encoded_size(WireCodec::ts_tabq, T, d, lo, outliers);
      if (f > 0) payload += f * (expected_encoded_size(WireCodec::ts_tabq, T, d, lo + 1, outliers) - payload);
      break;
    }
    case WireFormat::fp32: payload = static_cast<double>(encoded_size_dense(WireCodec::fp32, T, d)); break;
  }
  return payload;
}

double CostModel::downlink_bytes() const {
  if (sys_.plan.wire == WireFormat::none) return 0;
  return static_cast<double>(kFrameHeaderBytes + kTokenPayloadBytes);
}

double CostModel::edge_stream_bytes() const {
  const Plan& p = sys_.plan;
  const ModelSpec& m = sys_.model;
  if (!p.edge_embeds) return 0;
  const int bits = static_cast<int>(p.edge_bits), gs = static_cast<int>(sys_.scenario.split.group_size);
  double b = static_cast<double>(p.split_layer) * m.layer_weight_bytes(bits, gs);
  if (!p.server_has_head) b += m.tied_embeddings ? m.embedding_bytes(bits, gs) : m.head_bytes(bits, gs);
  return b;
}

double CostModel::server_stream_bytes() const {
  const Plan& p = sys_.plan;
  const ModelSpec& m = sys_.model;
  if (!p.server_has_head) return 0;
  const int bits = static_cast<int>(p.cloud_bits), gs = static_cast<int>(sys_.scenario.split.group_size);
  return static_cast<double>(server_held_layers()) * m.layer_weight_bytes(bits, gs) +
         (m.tied_embeddings ? m.embedding_bytes(bits, gs) : m.head_bytes(bits, gs));
}

DeviceWork CostModel::device_prefill(size_t g, int64_t prompt) const {
  return {edge_prefill(g, prompt), edge_encode(g, prompt), uplink_bytes(prompt)};
}

DeviceWork CostModel::device_step(size_t g, int64_t prompt, int64_t k) const {
  return device_step_at(g, prompt + k, sys_.plan.split_at(prompt + k - 1), layers_moved_at(prompt, k));
}

DeviceWork CostModel::device_step_at(size_t g, int64_t t, int64_t split, int64_t moved) const {
  DeviceWork w{edge_step_at(g, split, t), edge_encode(g, 1), uplink_bytes(1), 0, split, moved};
  if (moved > 0) {
    const int64_t cached = t - 1;
    w.encode += static_cast<double>(moved) * edge_encode(g, kv_move_rows(cached));
    w.moved_bytes = static_cast<double>(moved) * kv_move_bytes(cached);
    w.up_bytes += w.moved_bytes;
  }
  return w;
}

double CostModel::transport_overhead(size_t g, double bytes) const {
  // Measured framing/transport overhead of the host's message path (thread hand-offs, copies), when measured.
  const auto& mt = sys_.fleet[g].device.measured;
  if (!mt || bytes <= 0) return 0;
  // Clients of one local run (devices on the server's shared cores) hand their messages through one host.
  const int64_t clients = sys_.scenario.server.shared_cores > 0 ? sys_.scenario.device_count() : 1;
  return mt->transport.fixed(clients) + mt->transport.per_byte * bytes;
}

const LinkProfile* CostModel::router_link() const {
  return sys_.server_groups.empty() || !sys_.server_groups[0].link ? nullptr : &*sys_.server_groups[0].link;
}

double CostModel::router_hop(bool up, double bytes) const {
  const LinkProfile* l = router_link();
  if (!l || bytes <= 0) return 0;
  return l->latency.value + bytes / (up ? l->uplink.value : l->downlink.value);
}

double CostModel::transfer_latency(size_t g) const { return sys_.fleet[g].link.latency.value + sys_.backbone.latency.value; }

double CostModel::transfer(size_t g, bool up, double bytes, double start, double phase) const {
  if (bytes <= 0) return 0;
  const auto& a = sys_.fleet[g].link;
  const auto& b = sys_.backbone;
  const double lat = transfer_latency(g);
  const double peak = up ? a.uplink.value : a.downlink.value, cap = up ? b.uplink.value : b.downlink.value;
  // A traced link: at its time-average rate for the screen (start < 0), along the trace in the simulator.
  const double carry = !a.trace        ? bytes / std::min(peak, cap)
                       : start < 0     ? bytes / std::min(peak / a.trace->mean_inverse(up), cap) +
                                             a.trace->mean_outage_wait(up)
                                       : a.trace->transfer_time(up, start + lat + phase, bytes, peak, cap);
  return lat + carry + transport_overhead(g, bytes);
}

double CostModel::transfer_up(size_t g, double bytes) const { return transfer(g, true, bytes, -1); }
double CostModel::transfer_down(size_t g, double bytes) const { return transfer(g, false, bytes, -1); }

MemoryBreakdown CostModel::edge_memory(size_t g) const {
  const ModelSpec& m = sys_.model;
  const Plan& p = sys_.plan;
  const int gs = static_cast<int>(sys_.scenario.split.group_size);
  MemoryBreakdown mem;
  mem.capacity = sys_.fleet[g].device.memory_capacity.value;
  if (!p.edge_embeds) return mem;  // cloud-only: the device holds no model
  const int bits = static_cast<int>(p.edge_bits);
  mem.runtime = sys_.fleet[g].device.runtime_overhead.value;
  // The edge holds the weights of its current layers and their caches, which grow with the context. Under a split
  // schedule it frees a layer's weights and cache when it hands the layer over, so the peak is the largest of the
  // bands' ends: band j's split s_j with its cache full to the next band's context e_j (max_seq_len for the
  // last). A static split is one band, full at max_seq_len.
  const int64_t max_seq = sys_.scenario.workload.max_seq_len;
  const double layer_w = m.layer_weight_bytes(bits, gs), kvb = m.kv_bytes_per_token_layer(static_cast<int>(p.kv_bits));
  const SplitBand one{0, p.split_layer};
  const std::span<const SplitBand> bands = p.schedule ? std::span(p.schedule->bands()) : std::span(&one, 1);
  double peak = -1;
  for (size_t j = 0; j < bands.size() && bands[j].context < max_seq; ++j) {
    const int64_t end = j + 1 < bands.size() ? std::min(bands[j + 1].context, max_seq) : max_seq;
    const double s = static_cast<double>(bands[j].split);
    if (s * layer_w + s * static_cast<double>(end) * kvb <= peak) continue;
    peak = s * layer_w + s * static_cast<double>(end) * kvb;
    mem.weights = s * layer_w;
    mem.kv_cache = s * static_cast<double>(end) * kvb;
  }
  mem.weights += m.embedding_bytes(bits, gs);
  if (!p.server_has_head) mem.weights += m.tied_embeddings ? 2.0 * m.dim : m.head_bytes(bits, gs);
  // fp32 buffers of a prefill of the longest prompt: residual, normed, q, attention output (4*T*d), the MLP's
  // two hidden buffers (2*T*f), one head's T x T attention scores, and the logits when the edge runs the head.
  const double T = static_cast<double>(sys_.scenario.workload.prompt_tokens.upper_bound());
  if (p.split_layer > 0 || !p.server_has_head)
    mem.workspace = 4.0 * (4.0 * T * m.dim + 2.0 * T * m.hidden_dim + T * T) +
                    (p.server_has_head ? 0.0 : 4.0 * static_cast<double>(m.vocab_size));
  else
    mem.workspace = 4.0 * T * m.dim;  // split at 0: only the embedded prompt block
  return mem;
}

double CostModel::server_weight_bytes() const {
  const ModelSpec& m = sys_.model;
  const Plan& p = sys_.plan;
  if (!p.server_has_head) return 0;
  const int gs = static_cast<int>(sys_.scenario.split.group_size);
  const int bits = static_cast<int>(p.cloud_bits);
  double w = static_cast<double>(server_held_layers()) * m.layer_weight_bytes(bits, gs) + 2.0 * m.dim;
  // The head is a V x d matrix on the server even when tied: the edge holds the embedding copy.
  w += matrix_bytes(m.vocab_size, m.dim, bits, gs);
  if (!p.edge_embeds && !m.tied_embeddings) w += m.embedding_bytes(bits, gs);
  return w;
}

double CostModel::server_kv_bytes_per_token() const {
  return static_cast<double>(server_held_layers()) * sys_.model.kv_bytes_per_token_layer(static_cast<int>(sys_.plan.kv_bits));
}

double CostModel::server_kv_capacity() const {
  if (sys_.scenario.server.kv_memory > 0) return sys_.scenario.server.kv_memory;
  return std::max(0.0, sys_.server.memory_capacity.value - sys_.server.runtime_overhead.value - server_weight_bytes());
}

double CostModel::kv_reservation(int64_t prompt, int64_t output) const {
  const int64_t context = std::min(prompt + output, sys_.scenario.workload.max_seq_len);
  return static_cast<double>(context) * server_kv_bytes_per_token();
}

MemoryBreakdown CostModel::server_memory() const {
  MemoryBreakdown mem;
  mem.capacity = sys_.server.memory_capacity.value;
  if (!sys_.plan.server_has_head) return mem;
  mem.runtime = sys_.server.runtime_overhead.value;
  mem.weights = server_weight_bytes();
  mem.kv_cache = server_kv_bytes_per_token() * static_cast<double>(sys_.scenario.workload.max_seq_len);
  return mem;
}

Estimate CostModel::estimate(size_t g, int64_t prompt, int64_t output) const {
  const Plan& p = sys_.plan;
  Estimate e;
  e.prompt_tokens = prompt;
  e.output_tokens = output;
  e.edge_memory = edge_memory(g);
  e.server_memory = server_memory();
  const double per_seq = kv_reservation(prompt, output);
  e.server_max_sequences = per_seq > 0 ? static_cast<int64_t>(server_kv_capacity() / per_seq) : 0;
  e.estimated_codec = p.wire == WireFormat::ts_tabq;
  e.bytes_up_prefill = uplink_bytes(prompt);
  e.bytes_down_per_token = downlink_bytes();
  // cloud-only sends its prompt once; split strategies send one hidden-state block per generated token.
  e.bytes_up_per_token = (p.wire == WireFormat::token_ids) ? 0 : uplink_bytes(1);

  // Time to first token. Both sides start after a long idle, and each later step after the other side's part of
  // the round trip: the measured wake factors (1 without measured tables), as the simulator charges them.
  constexpr double kLongIdle = std::numeric_limits<double>::infinity();
  StageTimes& f = e.prefill;
  const DeviceWork first = device_prefill(g, prompt);
  const WakePenalty dw = device_wake(g, kLongIdle, p.split_at(prompt - 1), prompt);
  const WakePenalty sw = server_wake(kLongIdle, p.split_at(prompt - 1), static_cast<double>(prompt));
  f.edge_compute = first.edge_compute + dw.compute;
  f.encode = first.encode + dw.codec;
  f.uplink = transfer_up(g, first.up_bytes) + router_hop(true, first.up_bytes);
  f.server_queue = server_handoff();
  f.server_decode = server_decode_codec(prompt) + sw.codec;
  f.server_compute = server_prefill(prompt) + sw.compute;
  f.downlink = transfer_down(g, e.bytes_down_per_token) + router_hop(false, e.bytes_down_per_token);
  e.ttft = f.total();

  // Decode steps k = 1 .. output-1 process the previous token at context t = prompt + k.
  StageTimes sum;
  double server_busy = f.server_compute + f.server_decode;
  double decode_total = 0;
  StageTimes prev = f;
  for (int64_t k = 1; k < output; ++k) {
    const int64_t t = prompt + k;
    StageTimes s;
    s.server_compute = server_step_at(p.split_at(t - 1), 1, static_cast<double>(t));
    if (p.wire == WireFormat::token_ids) {
      // The server generates on its own and streams tokens: the device sees one token per server step, or
      // per downlink transfer if the link is the slower of the two.
      const auto& a = sys_.fleet[g].link;
      double link_time = e.bytes_down_per_token / std::min(a.downlink.value, sys_.backbone.downlink.value);
      if (const LinkProfile* hop = router_link())  // the router's hop pipelines its latency, not its rate
        link_time = std::max(link_time, e.bytes_down_per_token / hop->downlink.value);
      server_busy += s.server_compute;
      decode_total += std::max(s.server_compute, link_time);
      e.tbt_max = std::max(e.tbt_max, std::max(s.server_compute, link_time));
    } else {
      const DeviceWork w = device_step(g, prompt, k);
      const WakePenalty dw = device_wake(
          g, prev.uplink + prev.server_queue + prev.server_decode + prev.server_compute + prev.downlink, w.split, t);
      s.edge_compute = w.edge_compute + dw.compute;
      s.encode = w.encode + dw.codec;
      s.uplink = transfer_up(g, w.up_bytes) + router_hop(true, w.up_bytes);
      s.server_queue = server_handoff();
      const WakePenalty sw = server_wake(prev.downlink + s.edge_compute + s.encode + s.uplink + s.server_queue,
                                         w.split, static_cast<double>(t));
      s.server_decode = server_decode_codec(1) + server_kv_move_decode(layers_moved_at(prompt, k), t - 1) + sw.codec;
      s.server_compute += sw.compute;
      server_busy += s.server_compute;
      server_busy += s.server_decode;
      s.downlink = transfer_down(g, e.bytes_down_per_token) + router_hop(false, e.bytes_down_per_token);
      decode_total += s.total();
      e.tbt_max = std::max(e.tbt_max, s.total());
    }
    sum += s;
    prev = s;
  }
  const double steps = static_cast<double>(std::max<int64_t>(output - 1, 0));
  e.decode_mean = steps > 0 ? sum.scaled(1.0 / steps) : StageTimes{};
  e.tpot = steps > 0 ? decode_total / steps : 0;
  e.e2e = e.ttft + decode_total;
  e.bytes_up_total = e.bytes_up_prefill + steps * e.bytes_up_per_token + moved_bytes(prompt, output);
  e.bytes_down_total = static_cast<double>(output) * e.bytes_down_per_token;
  e.server_busy_per_token = output > 0 ? server_busy / static_cast<double>(output) : 0;
  return e;
}

}  // namespace splitsim
