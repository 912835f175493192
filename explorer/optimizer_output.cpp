// The optimizer's outputs: candidates.csv, pareto.csv, screen_sample.csv, optimize.json and chosen.toml in the
// output folder, and the summary printed on stdout.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "core/metrics.hpp"
#include "core/output.hpp"
#include "core/units.hpp"
#include "explorer/objectives.hpp"
#include "explorer/optimizer.hpp"

namespace splitsim {

namespace {

std::vector<std::string> candidate_header(const std::vector<std::string>& keys, bool verified) {
  std::vector<std::string> h = {"index"};
  h.insert(h.end(), keys.begin(), keys.end());
  for (const char* c : {"edge_memory_bytes", "ttft_s", "tpot_s", "e2e_s", "server_busy_per_token_s",
                        "throughput_tokens_per_s", "server_utilization", "servers", "server_usd_per_hour",
                        "usd_per_million_tokens", "edge_energy_per_token_j", "tbt_max_s", "bytes_up_per_token", "accuracy_loss",
                        "accuracy_source", "codec_mean_bits", "codec_outliers_per_token", "codec_relative_mse", "oom",
                        "reason"})
    h.push_back(c);
  if (verified) {
    h.push_back("verify_status");
    h.push_back("verify_reason");
    for (const auto& m : optimizer_metrics())
      if (*m.summary_key) h.push_back(std::string("verified_") + m.summary_key);
    h.push_back("verify_dir");
  }
  return h;
}

void add_candidate(CsvTable& t, const Candidate& c, const std::vector<std::string>& keys, bool verified) {
  t.row().add(c.index);
  for (const auto& k : keys) {
    std::string v;
    for (const auto& [kk, vv] : c.knobs)
      if (kk == k) v = display_value(vv);
    t.add(std::string_view(v));
  }
  // A price of an unpriced pool (NaN) is an empty cell, as summary.json's null is.
  auto add_known = [&t](double v) { std::isfinite(v) ? t.add(v) : t.add(std::string_view("")); };
  t.add(c.edge_memory).add(c.ttft).add(c.tpot).add(c.e2e).add(c.server_load).add(c.throughput).add(c.utilization);
  t.add(c.servers);
  add_known(c.server_usd_per_hour);
  add_known(find_metric("token_cost")->analytic(c));
  add_known(c.edge_energy_per_token);
  t.add(c.pause);
  t.add(c.bytes_up_per_token).add(c.accuracy.loss).add(std::string_view(c.accuracy.label()));
  t.add(c.codec.mean_bits).add(c.codec.outliers_per_token).add(c.codec.relative_mse).add(c.oom);
  t.add(std::string_view(c.reason));
  if (verified) {
    t.add(std::string_view(c.verified ? c.verify_status : "")).add(std::string_view(c.verify_reason));
    for (const auto& m : optimizer_metrics()) {
      if (!*m.summary_key) continue;
      if (c.verified && c.verify_status == "ok")
        add_known(metric_value(c, m.name));
      else
        t.add(std::string_view(""));
    }
    t.add(std::string_view(c.verify_dir));
  }
}

}  // namespace

std::string chosen_scenario_text(const OptimizeResult& r) {
  auto src = parse_toml_file(r.spec.scenario);
  for (const auto& [k, v] : r.spec.fixed) apply_override(*src, k, v);
  Scenario sc0 = scenario_from_source(parse_toml_file(r.spec.scenario));
  for (const auto& [k, v] : r.chosen.settings()) apply_override(*src, k, v);
  std::string name = sc0.name + "-optimized";
  src->root.insert_or_assign("name", name);
  std::ostringstream os;
  os << "# Chosen by splitsim optimize from " << r.spec.scenario << "\n# objective and constraints: see optimize.json"
     << " beside this file; accuracy_loss " << r.chosen.accuracy.loss * 100 << "% (" << r.chosen.accuracy.label()
     << ")\n";
  for (const auto& [k, v] : r.chosen.settings()) os << "#   " << k << " = " << display_value(v) << "\n";
  os << src->root << "\n";
  return os.str();
}


void write_optimize_outputs(const OptimizeResult& res, const OptimizeOptions& opt, int64_t devices,
                            const std::vector<std::string>& accuracy_sources) {
  const std::string out = opt.sweep.out_dir;
  const SweepSpec& spec = res.spec;
  std::vector<std::string> keys;
  for (const auto& ax : spec.axes) keys.push_back(ax.key);
  CsvTable cand(candidate_header(keys, true));
  for (const auto& c : res.top) add_candidate(cand, c, keys, true);
  cand.write(out + "/candidates.csv");
  CsvTable par(candidate_header(keys, false));
  for (const auto& c : res.pareto) add_candidate(par, c, keys, false);
  par.write(out + "/pareto.csv");
  CsvTable smp(candidate_header(keys, false));
  for (const auto& c : res.sample) add_candidate(smp, c, keys, false);
  smp.write(out + "/screen_sample.csv");

  nlohmann::json cons = nlohmann::json::array();
  for (const auto& c : opt.constraints) cons.push_back(c.text);
  nlohmann::json axes = nlohmann::json::object();
  for (const auto& ax : spec.axes) {
    nlohmann::json vals = nlohmann::json::array();
    for (const auto& v : ax.values) vals.push_back(display_value(v));
    axes[ax.key] = vals;
  }
  nlohmann::json j{{"scenario", spec.scenario},
                   {"objective", opt.objective},
                   {"constraints", cons},
                   {"axes", axes},
                   {"devices", devices},
                   {"grid_points", grid_size(spec)},
                   {"screened", res.screened},
                   {"invalid", res.invalid},
                   {"out_of_memory", res.oom},
                   {"feasible", res.feasible},
                   {"screen_seconds", res.screen_seconds},
                   {"verify_engine", opt.verify > 0 ? opt.sweep.engine : "none"},
                   {"verified", std::min<int64_t>(opt.verify, static_cast<int64_t>(res.top.size()))},
                   {"accuracy", res.accuracy_label},
                   {"accuracy_sources", accuracy_sources},
                   {"found", res.found}};
  if (!res.binding.empty()) j["infeasible_because"] = res.binding;
  if (res.found) {
    const Candidate& c = res.chosen;
    nlohmann::json knobs = nlohmann::json::object();
    for (const auto& [k, v] : c.settings()) knobs[k] = display_value(v);
    j["chosen"] = {{"settings", knobs},
                   {"edge_memory_bytes", c.edge_memory},
                   {"analytic", {{"ttft_s", c.ttft}, {"tpot_s", c.tpot}, {"e2e_s", c.e2e},
                                 {"server_busy_per_token_s", c.server_load}, {"throughput_tokens_per_s", c.throughput},
                                 {"servers", c.servers},
                                 {"server_usd_per_hour", finite_or_null(c.server_usd_per_hour)},
                                 {"edge_energy_per_token_j", finite_or_null(c.edge_energy_per_token)}}},
                   {"verified_summary", c.verified_summary},
                   {"accuracy_loss", c.accuracy.loss},
                   {"accuracy", c.accuracy.label()},
                   {"accuracy_source", c.accuracy.source},
                   {"bytes_up_per_token", c.bytes_up_per_token},
                   {"codec", {{"mean_bits", c.codec.mean_bits}, {"outliers_per_token", c.codec.outliers_per_token},
                              {"relative_mse", c.codec.relative_mse}, {"estimated", true}}},
                   {"decode_step", c.decode.to_json()},
                   {"prefill", c.prefill.to_json()}};
    write_file_atomic(out + "/chosen.toml", chosen_scenario_text(res));
  }
  write_json_atomic(out + "/optimize.json", j);
}

void print_optimize(const OptimizeResult& r, const OptimizeOptions& opt) {
  fmt::print("screened {} configurations in {:.2f} s ({} invalid, {} out of memory, {} meet every constraint); "
             "accuracy {}\n",
             r.screened, r.screen_seconds, r.invalid, r.oom, r.feasible, r.accuracy_label);
  if (!r.found) {
    fmt::print("no configuration fits: {}\n", r.binding);
    return;
  }
  const Candidate& c = r.chosen;
  fmt::print("\nchosen ({} objective {}):\n", c.verified ? "verified," : "analytic,", opt.objective);
  for (const auto& [k, v] : c.knobs) fmt::print("  {:<24} {}\n", k, display_value(v));
  fmt::print("  edge memory {}   accuracy_loss {:.3f}% ({})   uplink {} per token (codec {:.1f} bits/element, "
             "{:.1f} outliers/token, estimated)\n",
             format_bytes(c.edge_memory), 100 * c.accuracy.loss, c.accuracy.label(), format_bytes(c.bytes_up_per_token),
             c.codec.mean_bits, c.codec.outliers_per_token);
  fmt::print("  analytic: TTFT {}  TPOT {}  e2e {}  server {}/token\n", format_time(c.ttft), format_time(c.tpot),
             format_time(c.e2e), format_time(c.server_load));
  if (c.verified && c.verify_status == "ok")
    fmt::print("  verified: TTFT {}  TPOT {}  e2e {}  server {}/token  ({})\n", format_time(metric_value(c, "ttft")),
               format_time(metric_value(c, "tpot")), format_time(metric_value(c, "e2e")),
               format_time(metric_value(c, "server_load")), c.verify_dir);
  if (std::isfinite(c.edge_energy_per_token)) {
    fmt::print("  edge energy: {} per token analytic", format_energy(c.edge_energy_per_token));
    if (c.verified && c.verify_status == "ok") fmt::print(", {} verified", format_energy(metric_value(c, "edge_energy")));
    fmt::print("\n");
  }
  if (std::isfinite(c.server_usd_per_hour)) {
    const OptimizerMetric& per_token = *find_metric("token_cost");
    fmt::print("  server pool: {} at {}; {} per million tokens analytic", c.servers,
               metric_text(*find_metric("server_cost"), c.server_usd_per_hour), metric_text(per_token, per_token.analytic(c)));
    if (c.verified && c.verify_status == "ok") fmt::print(", {} verified", metric_text(per_token, metric_value(c, "token_cost")));
    fmt::print("\n");
  }
  const StageTimes& d = c.decode;
  fmt::print("  decode step alone: edge {} | encode {} | uplink {} | server decode {} | server {} | downlink {}\n",
             format_time(d.edge_compute), format_time(d.encode), format_time(d.uplink), format_time(d.server_decode),
             format_time(d.server_compute), format_time(d.downlink));
  fmt::print("\nPareto front (TPOT or the latency objective, accuracy_loss, edge memory; {} points):\n", r.pareto.size());
  const std::string lat = (opt.objective == "ttft" || opt.objective == "e2e") ? opt.objective : "tpot";
  size_t shown = 0;
  for (const auto& p : r.pareto) {
    if (shown++ >= 15) {
      fmt::print("  ... ({} more in pareto.csv)\n", r.pareto.size() - 15);
      break;
    }
    std::string knobs;
    for (const auto& [k, v] : p.knobs) knobs += fmt::format(" {}={}", k.substr(k.find('.') + 1), display_value(v));
    fmt::print("  {:>10} {:>8.3f}% {:>11} {}\n", format_time(metric_value(p, lat)), 100 * p.accuracy.loss,
               format_bytes(p.edge_memory), knobs);
  }
}

}  // namespace splitsim
