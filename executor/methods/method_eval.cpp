// The method evaluation: the split model a method builds goes through the executor's split-vs-reference
// evaluation (executor/eval.hpp) with the method's wire as the round trip, then the costs are counted from the
// storage formats and the wire format's exact sizes.
#include "executor/methods/method_eval.hpp"

#include <fmt/format.h>

#include <chrono>

#include "core/error.hpp"
#include "executor/forward.hpp"
#include "executor/methods/calibration.hpp"

namespace splitsim {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string bits_list(const std::vector<int>& b) { return fmt::format("{}", fmt::join(b, ";")); }

}  // namespace

nlohmann::json MethodEvalResult::to_json() const {
  return {{"settings", settings.to_json()},
          {"wire", wire_json},
          {"notes", notes},
          {"eval", eval.to_json()},
          {"edge_bits_per_weight", edge.bits_per_weight()},
          {"server_bits_per_weight", server.bits_per_weight()},
          {"edge_weight_bytes", edge.bytes()},
          {"server_weight_bytes", server.bytes()},
          {"edge_kv_bytes", edge_kv_bytes},
          {"edge_memory_bytes", edge_memory_bytes()},
          {"wire_bits_per_element", eval.wire_bits_per_element},
          {"wire_payload_bits_per_element", wire_payload_bits_per_element},
          {"wire_prefill_bits_per_element", wire_prefill_bits_per_element},
          {"wire_prefill_payload_bits_per_element", wire_prefill_payload_bits_per_element},
          {"build_s", build_s},
          {"eval_s", eval_s}};
}

MethodEvalResult evaluate_method(const ModelWeights& reference, const MethodSettings& settings, const Calibration* calib,
                                 const std::vector<std::vector<int32_t>>& streams) {
  const Method& method = find_method(settings.method);
  settings.validate();
  const MethodSettings s = method.resolve(settings);
  if (method.needs_calibration() && !calib)
    throw InputError(fmt::format("--method {}: needs calibration streams", s.method));
  const auto t0 = std::chrono::steady_clock::now();
  SplitModel sm = method.build(reference, s, calib);
  MethodEvalResult r;
  r.settings = sm.settings;
  r.notes = sm.notes;
  r.wire_name = sm.wire->name();
  r.wire_json = sm.wire->to_json();
  r.edge = sm.edge_tally;
  r.server = sm.server_tally;
  r.build_s = seconds_since(t0);

  const auto t1 = std::chrono::steady_clock::now();
  const HiddenCodec& wire = *sm.wire;
  r.eval = evaluate_split(reference, sm.edge, sm.server, WireRoundTrip([&](Eigen::MatrixXf& x) { return wire.round_trip(x); }),
                          streams);
  r.eval_s = seconds_since(t1);
  const ModelSpec& m = reference.spec;
  const auto d = static_cast<double>(m.dim);
  r.wire_payload_bits_per_element = 8.0 * (r.eval.wire_bytes_per_token - static_cast<double>(wire.metadata_bytes(1, m.dim))) / d;

  // Prefill: the edge output of each stream's predicted positions as one block. The methods' activation
  // quantizers and codecs work per token, so these are the values the decode path sent, in fewer headers.
  double bytes = 0, meta = 0, elements = 0;
  int64_t longest = 0;
  Workspace ws;
  Eigen::MatrixXf x;
  for (const auto& st : streams) {
    const auto T = static_cast<int64_t>(st.size()) - 1;
    longest = std::max(longest, T + 1);
    if (T < 1) continue;
    KvCache cache(m, sm.edge.part, T);
    embed(sm.edge, std::span<const int32_t>(st.data(), static_cast<size_t>(T)), x);  // (d, T)
    Segment seg{&cache, T};
    forward_layers(sm.edge, {&seg, 1}, x, ws);
    bytes += static_cast<double>(wire.encoded_bytes(x));
    meta += static_cast<double>(wire.metadata_bytes(T, m.dim));
    elements += static_cast<double>(T) * d;
  }
  r.wire_prefill_bits_per_element = 8.0 * bytes / elements;
  r.wire_prefill_payload_bits_per_element = 8.0 * (bytes - meta) / elements;
  // KV cache of the edge layers at 16 bits (kv_bits = 16 in accuracy.csv; the executor itself keeps fp32).
  r.edge_kv_bytes = static_cast<double>(s.split * 2 * m.kv_dim() * longest * 2);
  return r;
}

CsvTable accuracy_csv_table() {
  return CsvTable({"method", "model", "split", "edge_bits", "cloud_bits", "kv_bits", "group_size", "ts_mode",
                   "ts_threshold", "tabq_eps", "tabq_bits", "uniform_bits", "tokens", "perplexity", "perplexity_ref",
                   "kl", "agreement",
                   // beyond the explorer's columns
                   "act_bits", "wire_codec", "method_params", "ppl_loss", "kl_max", "edge_bits_per_weight",
                   "server_bits_per_weight", "wire_bits_per_element", "wire_payload_bits_per_element",
                   "wire_prefill_bits_per_element", "wire_prefill_payload_bits_per_element", "wire_bytes_per_token",
                   "edge_weight_bytes", "edge_kv_bytes", "edge_memory_bytes", "server_weight_bytes", "streams",
                   "stream_len", "stream_seed", "calib_tokens", "calib_seed"});
}

void add_accuracy_row(CsvTable& t, const MethodEvalResult& r, const AccuracyRowContext& c) {
  const MethodSettings& s = r.settings;
  const EvalResult& e = r.eval;
  t.row().add(s.method).add(c.model).add(s.split).add(s.edge_bits).add(s.cloud_bits).add(int64_t{16}).add(s.group_size);
  // Codec cells only where the wire is the kernels' codec they describe: empty cells match any setting.
  const nlohmann::json& w = r.wire_json;
  if (r.wire_name == "ts-tabq") {
    std::vector<int> bits = w["tabq_bits"].get<std::vector<int>>();
    t.add(w["ts_mode"].get<std::string>()).add(w["ts_threshold"].get<double>()).add(w["tabq_eps"].get<double>()).add(bits_list(bits));
  } else {
    t.add("").add("").add("").add("");
  }
  if (r.wire_name == "uniform") t.add(w["uniform_bits"].get<int64_t>());
  else t.add("");
  t.add(e.positions).add(e.ppl_split).add(e.ppl_ref).add(e.mean_kl).add(e.agreement);
  t.add(s.act_bits).add(r.wire_name).add(r.notes).add(e.ppl_split / e.ppl_ref - 1).add(e.max_kl);
  t.add(r.edge.bits_per_weight()).add(r.server.bits_per_weight()).add(e.wire_bits_per_element);
  t.add(r.wire_payload_bits_per_element).add(r.wire_prefill_bits_per_element).add(r.wire_prefill_payload_bits_per_element);
  t.add(e.wire_bytes_per_token).add(r.edge.bytes()).add(r.edge_kv_bytes).add(r.edge_memory_bytes()).add(r.server.bytes());
  t.add(c.streams).add(c.stream_len).add(static_cast<int64_t>(c.stream_seed)).add(c.calib_tokens).add(static_cast<int64_t>(c.calib_seed));
}

}  // namespace splitsim
