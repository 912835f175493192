// `splitsim exec eval --method M` and `splitsim exec accuracy-sweep`: load the fp32 reference and its
// evaluation streams as `exec eval` does, sample calibration streams with their own seeds, measure each method
// configuration, and write the rows the explorer's accuracy model reads (results/accuracy/accuracy.csv).
#include "executor/methods/method_run.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>

#include "core/error.hpp"
#include "core/names.hpp"
#include "core/output.hpp"
#include "executor/eval.hpp"
#include "executor/methods/calibration.hpp"
#include "executor/methods/method_eval.hpp"

namespace splitsim {

namespace {

// Calibration streams from the fp32 model, after checking that their seeds are not the evaluation's.
std::unique_ptr<Calibration> calibrate(const ExecOptions& o, const ReferenceModel& ref, const CalibrationOptions& c) {
  if (c.streams < 1 || c.length < 2)
    throw InputError(fmt::format("--calib-streams/--calib-len: expected at least 1 stream of 2 tokens, got {} of {}",
                                 c.streams, c.length));
  if (o.text_file.empty()) {
    const uint64_t e0 = o.stream_seed, e1 = o.stream_seed + static_cast<uint64_t>(o.streams);
    const uint64_t c0 = c.seed, c1 = c.seed + static_cast<uint64_t>(c.streams);
    if (c0 < e1 && e0 < c1)
      throw InputError(fmt::format("--calib-seed: expected calibration seeds [{}, {}) disjoint from the evaluation "
                                   "seeds [{}, {}) (--stream-seed)",
                                   c0, c1, e0, e1));
  }
  return std::make_unique<Calibration>(ref.weights, sample_streams(ref.weights, c.streams, c.length, c.seed));
}

AccuracyRowContext row_context(const ExecOptions& o, const ReferenceModel& ref, const Calibration* calib,
                               const CalibrationOptions& c) {
  AccuracyRowContext ctx;
  ctx.model = ref.model_name;
  ctx.calib_tokens = calib ? calib->tokens() : 0;
  ctx.stream_seed = o.stream_seed;
  ctx.calib_seed = c.seed;
  ctx.streams = static_cast<int64_t>(ref.streams.size());
  ctx.stream_len = o.stream_len;
  return ctx;
}

nlohmann::json run_config(const ReferenceModel& ref, const CalibrationOptions& c) {
  nlohmann::json j = ref.config;
  j["streams_source"] = ref.streams_source;
  j["calibration"] = {{"streams", c.streams},
                      {"length", c.length},
                      {"seed", c.seed},
                      {"source", fmt::format("sampled from the fp32 model, temperature 1, seeds {}..{}", c.seed,
                                             c.seed + static_cast<uint64_t>(c.streams) - 1)}};
  return j;
}

std::string one_line(const MethodEvalResult& r) {
  const MethodSettings& s = r.settings;
  return fmt::format("{:<13} split {} | w {:>2}/{:<2} a {:<2} | wire {:<7} | ppl {:.4f} ({:+.2f}%) | KL {:.4f} | agree {:.1f}% | "
                     "wire {:.2f} b/el ({:.2f} payload, prefill {:.2f}) | edge {:.2f} b/w, server {:.2f} b/w",
                     s.method, s.split, s.edge_bits, s.cloud_bits, s.act_bits, r.wire_name, r.eval.ppl_split,
                     100 * (r.eval.ppl_split / r.eval.ppl_ref - 1), r.eval.mean_kl, 100 * r.eval.agreement,
                     r.eval.wire_bits_per_element, r.wire_payload_bits_per_element, r.wire_prefill_bits_per_element,
                     r.edge.bits_per_weight(), r.server.bits_per_weight());
}

}  // namespace

void exec_method_eval(const ExecOptions& o, const MethodSettings& in, const CalibrationOptions& c) {
  if (o.split < 0) throw InputError("--split: eval compares a split configuration with the unsplit model; give S");
  MethodSettings s = in;
  s.split = o.split;
  s.validate();
  const Method& method = find_method(s.method);
  ReferenceModel ref = load_reference(o);
  std::unique_ptr<Calibration> calib;
  if (method.needs_calibration()) calib = calibrate(o, ref, c);
  MethodEvalResult r = evaluate_method(ref.weights, s, calib.get(), ref.streams);
  const MethodSettings& rs = r.settings;

  fmt::print("{} ({}) | split {} | weights edge {} bits ({:.2f} per weight), server {} bits ({:.2f} per weight) | "
             "activations {} | wire {} | {} positions in {} streams ({})\n",
             rs.method, method.follows(), rs.split, rs.edge_bits, r.edge.bits_per_weight(), rs.cloud_bits,
             r.server.bits_per_weight(), rs.act_bits > 0 ? fmt::format("{} bits", rs.act_bits) : std::string("fp32"),
             r.wire_name, r.eval.positions, r.eval.streams, ref.streams_source);
  fmt::print("perplexity: reference {:.4f}, split {:.4f} ({:+.3f}%)\n", r.eval.ppl_ref, r.eval.ppl_split,
             100.0 * (r.eval.ppl_split / r.eval.ppl_ref - 1.0));
  fmt::print("mean KL(ref || split) {:.3e} nats (max {:.3e}); greedy agreement {:.2f}%\n", r.eval.mean_kl, r.eval.max_kl,
             100.0 * r.eval.agreement);
  fmt::print("wire: {:.1f} B per one-token block = {:.2f} bits per element ({:.2f} without headers); prefill block "
             "{:.2f} ({:.2f} without headers)\n",
             r.eval.wire_bytes_per_token, r.eval.wire_bits_per_element, r.wire_payload_bits_per_element,
             r.wire_prefill_bits_per_element, r.wire_prefill_payload_bits_per_element);
  fmt::print("edge memory: {:.0f} B weights + {:.0f} B KV (fp16, {} tokens) = {:.0f} B; server weights {:.0f} B\n",
             r.edge.bytes(), r.edge_kv_bytes, o.stream_len, r.edge_memory_bytes(), r.server.bytes());

  const std::string dir = o.out.empty() ? fmt::format("results/exec/{}-eval-{}-s{}-e{}-c{}", name_from(ref.model_name),
                                                      rs.method, rs.split, rs.edge_bits, rs.cloud_bits)
                                        : o.out;
  nlohmann::json cfg = run_config(ref, c);
  cfg["method"] = rs.to_json();
  CsvTable t = accuracy_csv_table();
  add_accuracy_row(t, r, row_context(o, ref, calib.get(), c));
  write_run_folder(dir, {{"config.json", dump_json(cfg, 2) + "\n"},
                         {"accuracy.csv", t.str()},
                         {"eval.json", dump_json(r.to_json(), 2) + "\n"}});
  if (!o.quiet) fmt::print(stderr, "exec eval: outputs in {}\n", dir);
}

// ---------------------------------------------------------------------------------------------- sweep

std::vector<MethodSettings> accuracy_sweep_grid(const AccuracySweepOptions& a, int64_t n_layers, int group_size) {
  for (const auto& m : a.methods) find_method(m);  // InputError on an unknown name
  auto wanted = [&](const char* m) {
    return a.methods.empty() || std::find(a.methods.begin(), a.methods.end(), m) != a.methods.end();
  };
  std::vector<int64_t> splits = a.splits;
  if (splits.empty()) {
    if (a.quick) splits = {std::min<int64_t>(2, n_layers - 1)};
    else
      for (int64_t s = 1; s < n_layers; ++s) splits.push_back(s);
  }
  for (int64_t s : splits)
    if (s < 1 || s >= n_layers)
      throw InputError(fmt::format("--splits: expected split points in 1..{} (both sides hold layers), got {}", n_layers - 1, s));
  // Weight bit pairs (edge, server): equal bits on both sides, and low-bit edge with an 8-bit server.
  const std::vector<std::pair<int, int>> pairs =
      a.quick ? std::vector<std::pair<int, int>>{{4, 4}, {4, 8}}
              : std::vector<std::pair<int, int>>{{2, 2}, {3, 3}, {4, 4}, {8, 8}, {2, 8}, {3, 8}, {4, 8}};
  // Wire settings of the two per-token codecs, spanning the same bits per element (TAB-Q's error budget
  // eps = 1e-1 .. 1e-4 picks 3 .. 8 bits per token on stories260K).
  const std::vector<int> uniform_bits = a.quick ? std::vector<int>{8} : std::vector<int>{3, 4, 5, 6, 8};
  const std::vector<double> tabq_eps =
      a.quick ? std::vector<double>{1e-3} : std::vector<double>{1e-1, 3e-2, 1e-2, 1e-3, 1e-4};

  std::vector<MethodSettings> grid;
  auto point = [&](const char* method, int64_t split, int e, int c) {
    MethodSettings m = a.base;
    m.method = method;
    m.split = split;
    m.edge_bits = e;
    m.cloud_bits = c;
    m.group_size = group_size;
    return m;
  };
  for (int64_t s : splits) {
    if (wanted("rtn"))
      for (auto [e, c] : pairs)
        for (int ub : uniform_bits) {
          MethodSettings m = point("rtn", s, e, c);
          m.wire.uniform_bits = ub;
          grid.push_back(m);
        }
    if (wanted("smoothquant")) grid.push_back(point("smoothquant", s, 8, 8));
    if (wanted("omniquant-lwc"))
      for (auto [e, c] : pairs)
        if (e < 8) grid.push_back(point("omniquant-lwc", s, e, c));
    if (wanted("atom")) grid.push_back(point("atom", s, 4, 4));
    if (wanted("llm-int8")) grid.push_back(point("llm-int8", s, 8, 8));
    if (wanted("opsc"))
      for (auto [e, c] : pairs)
        for (double eps : tabq_eps) {
          MethodSettings m = point("opsc", s, e, c);
          m.wire.tabq_eps = eps;
          grid.push_back(m);
        }
  }
  return grid;
}

void exec_accuracy_sweep(const ExecOptions& o, const AccuracySweepOptions& a, const CalibrationOptions& c) {
  const auto t0 = std::chrono::steady_clock::now();
  ReferenceModel ref = load_reference(o);
  std::vector<MethodSettings> grid = accuracy_sweep_grid(a, ref.weights.spec.n_layers, o.group_size);
  for (MethodSettings& m : grid) {
    CodecSpec w = o.wire;  // the command line's codec parameters, then the grid's own axis
    if (m.method == "rtn") w.uniform_bits = m.wire.uniform_bits;
    if (m.method == "opsc") w.tabq_eps = m.wire.tabq_eps;
    m.wire = w;
    m.validate();
  }
  std::unique_ptr<Calibration> calib = calibrate(o, ref, c);
  CsvTable t = accuracy_csv_table();
  const AccuracyRowContext ctx = row_context(o, ref, calib.get(), c);
  if (!o.quiet)
    fmt::print(stderr, "accuracy-sweep: {} configurations on {} ({} evaluation streams, {} calibration tokens)\n",
               grid.size(), ref.model_name, ref.streams.size(), calib->tokens());
  for (size_t i = 0; i < grid.size(); ++i) {
    MethodEvalResult r = evaluate_method(ref.weights, grid[i], calib.get(), ref.streams);
    add_accuracy_row(t, r, ctx);
    if (!o.quiet) fmt::print(stderr, "[{}/{}] {}\n", i + 1, grid.size(), one_line(r));
  }
  nlohmann::json cfg = run_config(ref, c);
  cfg["sweep"] = {{"methods", a.methods.empty() ? method_names() : a.methods},
                  {"splits", a.splits},
                  {"quick", a.quick},
                  {"points", grid.size()}};
  write_json_atomic(a.out + "/config.json", cfg);
  t.write(a.out + "/accuracy.csv");
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  fmt::print("accuracy-sweep: {} rows in {}/accuracy.csv ({:.0f} s)\n", t.rows(), a.out, wall);
}

}  // namespace splitsim
