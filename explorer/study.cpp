// The main job (`splitsim study`): optimizer for OPSC, the best configuration of each baseline under the same
// constraints, a device-count sweep of every strategy, per-stage breakdowns, plots and report.md.
#include "explorer/study.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <filesystem>
#include <map>
#include <optional>

#include "core/error.hpp"
#include "core/metrics.hpp"
#include "core/output.hpp"
#include "core/units.hpp"
#include "explorer/csv_read.hpp"
#include "hwprofiles/cost_model.hpp"
#include "explorer/plot.hpp"

namespace splitsim {
namespace fs = std::filesystem;
namespace {

std::string fmt_ms(double s) { return std::isnan(s) ? "–" : fmt::format("{:.1f}", s * 1e3); }
std::string fmt_x(double x) { return std::isnan(x) || std::isinf(x) ? "–" : fmt::format("{:.2f}×", x); }

struct Chosen {
  std::string strategy;
  bool found = false;
  bool relaxed = false;  // no configuration met the constraints: best memory-feasible one instead
  Candidate cand;
  std::string note;
};

}  // namespace

void write_breakdown(const SweepResult& sweep, const std::string& path) {
  const std::vector<const RequestField*> stages = latency_stages();
  std::vector<std::string> header = {"strategy", "devices", "status"};
  for (const RequestField* s : stages) header.push_back(s->name);
  header.push_back("tokens");
  CsvTable t(header);
  for (const PointResult& p : sweep.points) {
    t.row().add(std::string_view(p.point.case_name)).add(display_value(p.point.value("edge.count"))).add(p.status);
    std::vector<double> sum(stages.size(), 0.0);
    double tokens = 0;
    const std::string req = p.dir + "/requests.csv";
    if (p.status == "ok" && fs::exists(req)) {
      CsvData d = read_csv(req);
      int out_col = d.column("output_tokens"), oom_col = d.column("oom");
      for (const auto& rec : d.rows) {
        if (oom_col >= 0 && rec[static_cast<size_t>(oom_col)] == "1") continue;
        tokens += out_col >= 0 ? std::stod(rec[static_cast<size_t>(out_col)]) : 0;
        for (size_t s = 0; s < stages.size(); ++s) {
          int c = d.column(stages[s]->name);
          if (c >= 0 && !rec[static_cast<size_t>(c)].empty()) sum[s] += std::stod(rec[static_cast<size_t>(c)]);
        }
      }
    }
    for (double v : sum) t.add(tokens > 0 ? v / tokens : 0.0);
    t.add(tokens);
  }
  t.write(path);
}

namespace {

// 1. One configuration per strategy: the optimizer for OPSC (verified), the analytic screen for baselines.
std::vector<Chosen> choose_configurations(const std::string& scenario, const std::vector<std::string>& sets,
                                          const StudyOptions& opt, int64_t devices, const std::string& out,
                                          const std::function<void(const std::string&)>& say) {
  std::vector<Chosen> chosen;
  for (const auto& strategy : opt.strategies) {
    Chosen ch;
    ch.strategy = strategy;
    OptimizeOptions oo = opt.optimize;
    const bool main = strategy == "opsc";
    oo.sweep.out_dir = main ? out + "/optimize" : out + "/baselines/" + strategy;
    if (!main) oo.verify = 0;
    std::vector<std::string> s = sets;
    s.push_back("split.strategy=" + strategy);
    s.push_back(fmt::format("edge.count={}", devices));
    say(fmt::format("{}: {}", strategy, main ? "optimizing (analytic screen, then verification)" : "analytic screen"));
    OptimizeResult r = optimize(scenario, s, oo);
    // A baseline that cannot meet the accuracy budget (e.g. uniform wire quantization with outliers) gets the
    // budget doubled until it can, so it is compared at its most accurate reach rather than dropped.
    for (int relax = 0; !main && !r.found && relax < 16; ++relax) {
      bool any = false;
      for (auto& c : oo.constraints)
        if (c.metric == "accuracy_loss") {
          c.value *= 2;
          c.text = fmt::format("accuracy_loss<={:g}%", 100 * c.value);
          ch.note = fmt::format("no configuration met the constraints; accuracy budget relaxed to {}", c.text);
          any = true;
        }
      if (!any) break;
      r = optimize(scenario, s, oo);
      ch.relaxed = r.found;
    }
    ch.found = r.found;
    if (r.found) ch.cand = r.chosen;
    if (!r.found) ch.note = r.binding;
    if (main && !opt.optimize.quiet) print_optimize(r, oo);
    chosen.push_back(ch);
  }
  return chosen;
}

// 2. The device-count sweep of every strategy that has a configuration.
SweepSpec device_sweep(const std::string& scenario, const SweepSpec& user, const std::vector<Chosen>& chosen,
                       const StudyOptions& opt) {
  SweepSpec spec;
  spec.scenario = scenario;
  spec.origin = "study";
  spec.fixed = user.fixed;
  for (const auto& ch : chosen) {
    if (!ch.found) continue;
    SweepCase c{ch.strategy, {{"split.strategy", normalize_value(ch.strategy)}}};
    for (const auto& a : ch.cand.settings())
      if (a.first != "edge.count") c.set.push_back(a);
    spec.cases.push_back(c);
  }
  Axis devices{"edge.count", {}};
  for (auto d : opt.devices) devices.values.push_back(std::to_string(d));
  spec.axes.push_back(devices);
  return spec;
}

// A metric of the sweep's run of strategy s at n devices ("tpot_s.mean", "bytes_up_per_token"); NaN when that
// run did not complete.
class SweepFigures {
 public:
  explicit SweepFigures(const SweepResult& r) {
    for (const PointResult& p : r.points)
      if (p.status == "ok") at_[{p.point.case_name, display_value(p.point.value("edge.count"))}] = &p.summary;
  }
  double operator()(const std::string& s, int64_t n, const std::string& key) const {
    auto it = at_.find({s, std::to_string(n)});
    if (it == at_.end()) return NAN;
    const nlohmann::json* v = it->second;
    for (size_t a = 0, b; a <= key.size(); a = b + 1) {
      b = std::min(key.find('.', a), key.size());
      const std::string part = key.substr(a, b - a);
      if (!v->is_object() || !v->contains(part)) return NAN;
      v = &(*v)[part];
    }
    return v->is_number() ? v->get<double>() : NAN;
  }

 private:
  std::map<std::pair<std::string, std::string>, const nlohmann::json*> at_;
};

std::string list_text(const std::vector<int64_t>& v) {
  std::string s;
  for (auto d : v) s += (s.empty() ? "" : ", ") + std::to_string(d);
  return s;
}

std::string chosen_table(const std::string& scenario, const std::vector<Override>& fixed,
                         const std::vector<Chosen>& chosen, int64_t devices) {
  std::string md = fmt::format("## Chosen configuration per strategy (optimized for {} devices)\n\n", devices);
  md += "accuracy_loss is the relative WikiText-2 perplexity increase; *estimated* values come from "
        "explorer/accuracy_estimates.toml (published RTN perplexities and assumptions, see optimize/optimize.json), "
        "*measured* ones from the executor. Codec bits per element are estimated by the codec model.\n\n";
  md += "| strategy | split layer | edge bits | cloud bits | KV bits | wire | edge memory | accuracy_loss | uplink B/token (decode) |\n";
  md += "|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& ch : chosen) {
    if (!ch.found) {
      md += fmt::format("| {} | – | – | – | – | – | – | – | no configuration: {} |\n", ch.strategy, ch.note);
      continue;
    }
    std::vector<Override> o = fixed;
    o.push_back(Override{"split.strategy", {normalize_value(ch.strategy)}, ""});
    for (const auto& [k, v] : ch.cand.settings()) o.push_back(Override{k, {v}, k + "=" + v});
    const Scenario s2 = load_scenario(scenario, o);
    const Plan p = make_plan(s2, resolve_system(s2).model.n_layers);
    std::string wire = wire_format_name(p.wire);
    if (p.wire == WireFormat::ts_tabq)
      wire += fmt::format(" ({} {}, ε={}, ~{:.0f} bits)", s2.codec.ts_mode, s2.codec.ts_threshold, s2.codec.tabq_eps,
                          ch.cand.codec.mean_bits);
    if (p.wire == WireFormat::uniform) wire += fmt::format(" ({} bits)", p.wire_bits);
    md += fmt::format("| {}{} | {} | {} | {} | {} | {} | {} | {:.2f}% ({}) | {:.0f} |\n", ch.strategy,
                      ch.relaxed ? " ¹" : "", p.split_layer, p.edge_embeds ? std::to_string(p.edge_bits) : "–",
                      p.cloud_bits, p.kv_bits, wire, format_bytes(ch.cand.edge_memory), 100 * ch.cand.accuracy.loss,
                      ch.cand.accuracy.label(), ch.cand.bytes_up_per_token);
  }
  for (const auto& ch : chosen)
    if (ch.relaxed) md += fmt::format("\n¹ {}: {}.\n", ch.strategy, ch.note);
  return md;
}

std::string scalability_table(const SweepFigures& get, const StudyOptions& opt) {
  std::string md = "\n## Scalability\n\nTPOT = mean time per output token; speedup = baseline TPOT / OPSC TPOT (and "
                   "the same for end-to-end latency). Server load = server busy time per generated token and "
                   "utilization.\n\n";
  md += "| devices |";
  for (const auto& s : opt.strategies) md += fmt::format(" TPOT {} (ms) |", s);
  md += " OPSC vs cloud-only TPOT (e2e) | OPSC vs split-fp16 TPOT (e2e) |";
  for (const auto& s : opt.strategies) md += fmt::format(" server {} (ms/token, util) |", s);
  md += "\n|---|";
  for (size_t i = 0; i < 2 * opt.strategies.size() + 2; ++i) md += "---|";
  md += "\n";
  for (auto n : opt.devices) {
    md += fmt::format("| {} |", n);
    for (const auto& s : opt.strategies) md += fmt::format(" {} |", fmt_ms(get(s, n, "tpot_s.mean")));
    for (const char* base : {"cloud-only", "split-fp16"}) {
      double tp = get(base, n, "tpot_s.mean") / get("opsc", n, "tpot_s.mean");
      double ee = get(base, n, "e2e_s.mean") / get("opsc", n, "e2e_s.mean");
      md += fmt::format(" {} ({}) |", fmt_x(tp), fmt_x(ee));
    }
    for (const auto& s : opt.strategies) {
      double load = get(s, n, "server_busy_per_token_s"), u = get(s, n, "server_utilization");
      md += std::isnan(load) ? " – |" : fmt::format(" {:.2f} ({:.0f}%) |", load * 1e3, 100 * u);
    }
    md += "\n";
  }
  return md;
}

std::string bytes_table(const SweepFigures& get, const StudyOptions& opt) {
  std::string md = "\n## Bytes per token\n\nUplink application bytes per generated token (prompt block included), at "
                   "1 device:\n\n";
  md += "| strategy | uplink B/token | downlink B/token |\n|---|---|---|\n";
  const int64_t n0 = opt.devices.front();
  for (const auto& s : opt.strategies) {
    double up = get(s, n0, "bytes_up_per_token");
    double down = get(s, n0, "bytes_down_total") / get(s, n0, "generated_tokens");
    md += fmt::format("| {} | {} | {} |\n", s, std::isnan(up) ? "–" : fmt::format("{:.0f}", up),
                      std::isnan(down) ? "–" : fmt::format("{:.0f}", down));
  }
  return md;
}

// Device energy per token for each strategy's chosen configuration, at the smallest and the largest fleet, and
// which strategy wins on it and where its energy goes (compute above idle, radio, idle waiting).
std::string energy_table(const SweepFigures& get, const StudyOptions& opt) {
  const int64_t n0 = opt.devices.front(), n1 = opt.devices.back();
  std::string md = fmt::format(
      "\n## Energy\n\nDevice energy per generated token (request-attributed: idle power over the request, compute "
      "above idle, radio transfers, tails and promotions), the device's mean power over the run and the server "
      "pool's energy per token, at {} and {} devices. Power figures and their sources are in the device, link and "
      "server profiles (several are upper bounds or assumptions, see README).\n\n",
      n0, n1);
  md += fmt::format("| strategy | edge mJ/token ({0}) | edge mJ/token ({1}) | of which radio ({1}) | edge W ({1}) | "
                    "server J/token ({1}) | TPOT ms ({1}) |\n|---|---|---|---|---|---|---|\n",
                    n0, n1);
  std::string best;
  double best_e = INFINITY;
  for (const auto& s : opt.strategies) {
    const double e0 = get(s, n0, "edge_energy_per_token_j"), e1 = get(s, n1, "edge_energy_per_token_j");
    if (std::isnan(e0) && std::isnan(e1)) {
      md += fmt::format("| {} | – | – | – | – | – | – |\n", s);
      continue;
    }
    const double radio = get(s, n1, "radio_energy_per_token_j");
    md += fmt::format("| {} | {:.1f} | {:.1f} | {} | {:.2f} | {:.2f} | {:.1f} |\n", s, 1e3 * e0, 1e3 * e1,
                      std::isnan(radio) ? std::string("–") : fmt::format("{:.0f}%", 100 * radio / e1),
                      get(s, n1, "edge_power_w"), get(s, n1, "server_energy_per_token_j"), 1e3 * get(s, n1, "tpot_s.mean"));
    if (e1 < best_e) best_e = e1, best = s;
  }
  if (!best.empty()) {
    const double radio = get(best, n1, "radio_energy_per_token_j");
    md += fmt::format("\nLowest device energy per token at {} devices: **{}** ({:.1f} mJ, {:.0f}% of it the radio's).",
                      n1, best, 1e3 * best_e, 100 * radio / best_e);
    if (best == "cloud-only")
      md += " It moves every layer off the device; what the device still pays is its idle power while it waits for "
            "tokens and its radio, which a streamed request keeps on (or in its tail) for the whole request.";
    else if (best == "edge-only")
      md += " It never turns the radio on; the device pays for all the layers instead.";
    else
      md += " Its share of the layers costs less than the idle time and radio tails the other strategies' waits cost.";
    md += "\n";
  }
  return md;
}

// 4. Real traffic: each strategy's chosen configuration on a trace scenario (its own fleet and trace).
Scenario check_replay(const std::string& replay) {
  Scenario rs = load_scenario(replay);
  if (rs.workload.arrival != "trace")
    throw InputError(fmt::format("--replay {}: expected a scenario with workload.arrival = \"trace\", got \"{}\"", replay,
                                 rs.workload.arrival));
  return rs;
}

SweepResult replay_trace(const std::string& replay, const std::vector<Chosen>& chosen, const StudyOptions& opt,
                         const std::string& out) {
  SweepSpec spec;
  spec.scenario = replay;
  spec.origin = "study replay";
  for (const auto& ch : chosen) {
    if (!ch.found) continue;
    SweepCase c{ch.strategy, {{"split.strategy", normalize_value(ch.strategy)}}};
    for (const auto& a : ch.cand.settings())
      if (a.first != "edge.count" && a.first != "workload.max_seq_len") c.set.push_back(a);
    spec.cases.push_back(c);
  }
  SweepOptions so = opt.optimize.sweep;
  so.out_dir = out + "/replay";
  so.shard = Shard{};
  return run_sweep(spec, so);
}

std::string replay_section(const SweepResult& r, const Scenario& rs) {
  const TraceSelection& t = rs.workload.trace.selected;
  std::string md = fmt::format(
      "\n## Real traffic: {}\n\n{}: {} requests of `{}` (window {:g}–{:g} s, {} clipped, {} dropped) on {} devices, "
      "each strategy with the configuration chosen above. Percentiles over the requests; the trace is CC-BY 4.0 "
      "(Patel et al., Splitwise, ISCA 2024).\n\n",
      rs.name, rs.description, t.requests.size(), rs.workload.trace.path, rs.workload.trace.window_start,
      std::min(rs.workload.trace.window_end, rs.workload.trace.window_start + t.span / rs.workload.trace.time_scale),
      t.clipped, t.dropped, rs.device_count());
  md += "| strategy | TTFT p50 / p90 / p99 (s) | TPOT p50 / p90 / p99 (ms) | e2e p50 (s) | server util. | tokens/s |\n";
  md += "|---|---|---|---|---|---|\n";
  for (const PointResult& p : r.points) {
    if (p.status != "ok") {
      md += fmt::format("| {} | {}: {} | | | | |\n", p.point.case_name, p.status, p.reason);
      continue;
    }
    const auto& s = p.summary;
    auto pct = [&](const char* k, const char* q, double scale) { return fmt::format("{:.2f}", scale * s[k][q].get<double>()); };
    md += fmt::format("| {} | {} / {} / {} | {} / {} / {} | {} | {:.0f}% | {:.0f} |\n", p.point.case_name,
                      pct("ttft_s", "p50", 1), pct("ttft_s", "p90", 1), pct("ttft_s", "p99", 1), pct("tpot_s", "p50", 1e3),
                      pct("tpot_s", "p90", 1e3), pct("tpot_s", "p99", 1e3), pct("e2e_s", "p50", 1),
                      100 * s["server_utilization"].get<double>(), s["throughput_tokens_per_s"].get<double>());
  }
  return md;
}

// 5. A split that moves with the context: OPSC's chosen configuration on the trace, static and with the two-band
// schedules that keep the edge's memory peak within the static split's (memory_matched_schedules).
struct ScheduleRuns {
  SweepResult runs;
  double memory = 0;  // B, the static split's edge memory peak (every schedule's is at most this)
  double kv = 0;      // B of it: the KV cache at max_seq_len
  int64_t split = 0;
};

std::optional<ScheduleRuns> schedule_replay(const std::string& replay, const Chosen& opsc, const StudyOptions& opt,
                                            const std::string& out) {
  if (!opsc.found) return std::nullopt;
  SweepCase base{"static", {{"split.strategy", normalize_value(opsc.strategy)}}};
  for (const auto& a : opsc.cand.settings())
    if (a.first != "edge.count" && a.first != "workload.max_seq_len") base.set.push_back(a);
  std::vector<Override> ov;
  for (const auto& [k, v] : base.set) ov.push_back(Override{k, {v}, k + "=" + v});
  const System sys = resolve_system(load_scenario(replay, ov));
  ScheduleRuns r;
  const MemoryBreakdown mem = CostModel(sys).edge_memory(0);
  r.memory = mem.total();
  r.kv = mem.kv_cache;
  r.split = sys.plan.split_layer;
  SweepSpec spec;
  spec.scenario = replay;
  spec.origin = "study split schedules";
  spec.cases.push_back(base);
  for (const std::string& s : memory_matched_schedules(sys)) {
    SweepCase c{s, base.set};
    c.set.emplace_back("split.schedule", normalize_value("\"" + s + "\""));
    spec.cases.push_back(c);
  }
  if (spec.cases.size() == 1) return std::nullopt;
  SweepOptions so = opt.optimize.sweep;
  so.out_dir = out + "/schedules";
  so.shard = Shard{};
  r.runs = run_sweep(spec, so);
  return r;
}

std::string schedule_section(const ScheduleRuns& r, const Scenario& rs) {
  std::string md = fmt::format(
      "\n## A split that moves with the context: {}\n\nOPSC's chosen split {} holds the KV of its layers up to "
      "max_seq_len ({} tokens). Each schedule `0:S1,C:{}` runs S1 layers on the edge while the context is below C "
      "tokens and then hands layers [{}, S1) with their KV to the server; S1 is the largest split point that keeps "
      "the edge's memory peak within the static split's {} (the edge frees a layer's weights and cache when it hands "
      "it over). Same trace, fleet and settings otherwise.\n\n",
      rs.name, r.split, rs.workload.max_seq_len, r.split, r.split, format_bytes(r.memory));
  md += "| split | TTFT p50 / p90 (s) | TPOT p50 / p90 (ms) | server busy per token (ms) | server util. | KV moved "
        "(share of uplink bytes) |\n|---|---|---|---|---|---|\n";
  const PointResult* best = nullptr;
  const PointResult* stat = nullptr;
  for (const PointResult& p : r.runs.points) {
    if (p.status != "ok") {
      md += fmt::format("| {} | {}: {} | | | | |\n", p.point.case_name, p.status, p.reason);
      continue;
    }
    const auto& s = p.summary;
    const double up = s["bytes_up_total"].get<double>();
    md += fmt::format("| {} | {:.2f} / {:.2f} | {:.1f} / {:.1f} | {:.3f} | {:.0f}% | {:.1f}% |\n",
                      p.point.case_name == "static" ? fmt::format("static {}", r.split) : "`" + p.point.case_name + "`",
                      s["ttft_s"]["p50"].get<double>(), s["ttft_s"]["p90"].get<double>(),
                      1e3 * s["tpot_s"]["p50"].get<double>(), 1e3 * s["tpot_s"]["p90"].get<double>(),
                      1e3 * s["server_busy_per_token_s"].get<double>(), 100 * s["server_utilization"].get<double>(),
                      up > 0 ? 100 * s.value("bytes_moved_total", 0.0) / up : 0.0);
    if (p.point.case_name == "static") stat = &p;
    else if (!best || s["server_busy_per_token_s"].get<double>() < best->summary["server_busy_per_token_s"].get<double>())
      best = &p;
  }
  if (stat && best) {
    auto rel = [&](const char* k, const char* q) {
      const double a = q ? stat->summary[k][q].get<double>() : stat->summary[k].get<double>();
      const double b = q ? best->summary[k][q].get<double>() : best->summary[k].get<double>();
      return 100 * (b / a - 1);
    };
    const double work = rel("server_busy_per_token_s", nullptr);
    md += fmt::format(
        "\nWithin the same edge memory, the schedule with the least server work, `{}`, changes the server's work per "
        "generated token by {:+.1f}% against the static split (TPOT p50 {:+.1f}%, TTFT p50 {:+.1f}%). ",
        best->point.case_name, work, rel("tpot_s", "p50"), rel("ttft_s", "p50"));
    if (work > -2)
      md += fmt::format(
          "Here that is too little to matter: the static split's KV cache is {} of its {} ({:.0f}%), so freeing it "
          "for short contexts buys few more edge layers, and every request that crosses C during decoding ships "
          "the moved layers' KV up. A schedule pays where the KV is a large part of the edge's memory (long "
          "contexts, 16-bit KV, low-bit weights) and the server is the scarce resource.\n",
          format_bytes(r.kv), format_bytes(r.memory), 100 * r.kv / r.memory);
    else
      md += "Short contexts run more layers on the edge, so the server does less per token; what it costs is the "
            "moved KV on the uplink (last column), which is paid only by requests that cross C while decoding.\n";
  }
  return md;
}

std::string failures_section(const SweepResult& sr) {
  std::string failures;
  for (const auto& p : sr.points)
    if (p.status != "ok")
      failures += fmt::format("- {} at {} devices: {} ({})\n", p.point.case_name,
                              display_value(p.point.values.back().second), p.status, p.reason);
  return failures.empty() ? "" : "\n## Points that did not run\n\n" + failures;
}

}  // namespace

// What the stage breakdown rests on: the latest `splitsim validate` run beside this report (its validation.csv),
// per stage over the scenarios where the stage takes at least 5% of the measured end-to-end time, and what that run
// does not cover. Without such a run the section says so and how to make one.
std::string validation_section(const std::string& path, const System& base) {
  std::string md = "\n## How far the stage breakdown is validated\n\n";
  const std::string run = "`splitsim validate scenarios/validate/*.toml --reps 3 --calibrate-each`";
  if (!fs::exists(path))
    return md + fmt::format("No validation run was found at {}, so the breakdown's stages are unvalidated estimates "
                            "here. {} runs the real split executor against the simulator on this machine and writes "
                            "it.\n",
                            path, run);
  CsvData d;
  try {
    d = read_csv(path);
  } catch (const InputError& e) {
    return md + fmt::format("The validation run at {} could not be read ({}).\n", path, e.what());
  }
  const int sc = d.column("scenario"), me = d.column("metric"), ki = d.column("kind"), ms = d.column("measured"),
            er = d.column("rel_error");
  if (sc < 0 || me < 0 || ki < 0 || ms < 0 || er < 0)
    return md + fmt::format("The file at {} is not a validation table (expected the columns of validation.csv).\n", path);
  std::map<std::string, double> e2e;  // scenario -> measured end-to-end
  for (const auto& r : d.rows)
    if (r[static_cast<size_t>(me)] == "e2e_mean") e2e[r[static_cast<size_t>(sc)]] = std::atof(r[static_cast<size_t>(ms)].c_str());
  struct Errors {
    std::vector<double> e;
    void add(double x) { e.push_back(std::abs(x)); }
    std::string text() const {
      if (e.empty()) return "-";
      double s = 0, w = 0;
      for (double x : e) s += x, w = std::max(w, x);
      return fmt::format("{:.1f}% / {:.1f}% ({})", 100 * s / static_cast<double>(e.size()), 100 * w, e.size());
    }
  };
  std::map<std::string, Errors> stages, headline;
  for (const auto& r : d.rows) {
    const std::string& metric = r[static_cast<size_t>(me)];
    const double err = std::atof(r[static_cast<size_t>(er)].c_str()), measured = std::atof(r[static_cast<size_t>(ms)].c_str());
    if (!std::isfinite(err)) continue;
    if (r[static_cast<size_t>(ki)] == "stage") {
      const auto it = e2e.find(r[static_cast<size_t>(sc)]);
      if (it != e2e.end() && it->second > 0 && measured >= 0.05 * it->second) stages[metric].add(err);
    } else if (metric == "ttft_mean" || metric == "tpot_mean" || metric == "e2e_mean" || metric == "server_busy") {
      headline[metric].add(err);
    }
  }
  md += fmt::format("From {} ({} scenarios of the real split executor on this machine's CPU against the simulator; "
                    "made by {} or the like). |relative error| mean / worst (scenarios):\n\n",
                    path, e2e.size(), run);
  md += "| figure | error |\n|---|---|\n";
  for (const char* m : {"ttft_mean", "tpot_mean", "e2e_mean", "server_busy"})
    md += fmt::format("| {} | {} |\n", m, headline[m].text());
  for (const RequestField* f : latency_stages()) {
    std::string name = f->name;
    if (name.size() > 2 && name.ends_with("_s")) name.resize(name.size() - 2);
    md += fmt::format("| stage {} (where >= 5% of end-to-end) | {} |\n", f->label, stages[name].text());
  }
  md += fmt::format("\nThose scenarios cost the host's CPU from its measured tables; this report's devices and "
                    "server are costed from {}, which that run does not check (see README, The cost model, for the "
                    "published-measurement check of the GPU profiles).\n",
                    base.server.measured || base.fleet.front().device.measured ? "measured tables as well"
                                                                               : "datasheet rooflines");
  return md;
}

StudyResult run_study(const std::string& scenario, const std::vector<std::string>& sets, const StudyOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  SweepSpec user = spec_from_sets(scenario, sets);
  if (!user.axes.empty())
    throw InputError(fmt::format("--set {}: study takes single values (use splitsim optimize or sweep for grids)",
                                 user.axes[0].key));
  std::vector<Override> fixed;
  for (const auto& [k, v] : user.fixed) fixed.push_back(Override{k, {v}, k + "=" + v});
  Scenario sc = load_scenario(scenario, fixed);
  std::optional<Scenario> replay_scenario;  // checked before the optimizer's minutes, not after
  if (!opt.replay.empty()) replay_scenario = check_replay(opt.replay);
  StudyResult res;
  res.out_dir = opt.out_dir.empty() ? "results/" + sc.name : opt.out_dir;
  fs::create_directories(res.out_dir);
  const std::string out = res.out_dir;
  auto say = [&](const std::string& s) {
    if (!opt.optimize.quiet) fmt::print("study: {}\n", s);
    std::fflush(stdout);
  };

  const int64_t opt_devices =
      opt.optimize_devices > 0 ? opt.optimize_devices : *std::max_element(opt.devices.begin(), opt.devices.end());
  const std::vector<Chosen> chosen = choose_configurations(scenario, sets, opt, opt_devices, out, say);

  const SweepSpec spec = device_sweep(scenario, user, chosen, opt);
  SweepOptions so = opt.optimize.sweep;
  so.out_dir = out + "/sweep";
  so.shard = Shard{};
  say(fmt::format("sweeping {} strategies x {} device counts with engine {}", spec.cases.size(), opt.devices.size(),
                  so.engine));
  const SweepResult sr = run_sweep(spec, so);
  write_breakdown(sr, out + "/breakdown.csv");
  write_fields_json(out);  // the stage names and labels the breakdown plot reads
  std::optional<SweepResult> replay;
  if (!opt.replay.empty()) {
    say(fmt::format("replaying {} with each strategy's configuration", opt.replay));
    replay = replay_trace(opt.replay, chosen, opt, out);
  }
  std::optional<ScheduleRuns> schedules;
  const auto opsc = std::find_if(chosen.begin(), chosen.end(), [](const Chosen& c) { return c.strategy == "opsc"; });
  if (!opt.replay.empty() && opsc != chosen.end()) {
    say("replaying OPSC's configuration with split schedules of the same edge memory");
    schedules = schedule_replay(opt.replay, *opsc, opt, out);
  }

  // 3. Report.
  std::string constraints;
  for (const auto& c : opt.optimize.constraints) constraints += (constraints.empty() ? "" : ", ") + c.text;
  std::string md = fmt::format("# Study: {}\n\n{}\n\n", sc.name, sc.description);
  md += fmt::format("Engine: **{}**{}. Devices: {}. Objective: {}. Constraints: {}. Wall time {:.0f} s.\n\n", so.engine,
                    so.engine == "analytic" ? " (closed-form fleet model; the simulator was not available)" : " (SimGrid)",
                    list_text(opt.devices), opt.optimize.objective,
                    constraints.empty() ? std::string("edge memory only") : constraints,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  // What the numbers rest on: measured tables or kernels where a profile has them, the roofline elsewhere.
  const System base = resolve_system(sc);
  md += "Costs: ";
  for (const auto& f : base.fleet) md += f.device.costing() + "; ";
  md += base.server.costing() + ".\n\n";
  const SweepFigures get(sr);
  md += chosen_table(scenario, fixed, chosen, opt_devices);
  md += scalability_table(get, opt);
  md += bytes_table(get, opt);
  md += energy_table(get, opt);
  if (replay) md += replay_section(*replay, *replay_scenario);
  if (schedules) md += schedule_section(*schedules, *replay_scenario);
  {
    fs::path root = fs::path(out).lexically_normal();
    if (root.filename().empty()) root = root.parent_path();  // "results/x/"
    md += validation_section((root.parent_path() / "validate" / "validation.csv").string(), base);
  }
  md += failures_section(sr);
  if (opt.plots) {
    say("plotting");
    run_plots(out);
    md += "\n## Figures\n\n![scalability](figures/scalability.png)\n\n![uplink bytes](figures/bytes.png)\n\n"
          "![latency breakdown](figures/breakdown.png)\n\n![Pareto front](figures/pareto.png)\n\n"
          "![latency vs edge energy](figures/energy.png)\n";
  }
  md += fmt::format("\nFiles: optimize/ (screen, candidates, Pareto front, chosen.toml), baselines/, sweep/sweep.csv "
                    "(every run's summary metrics; runs/<hash>/ holds each run), breakdown.csv, {}figures/.\n",
                    replay ? "replay/sweep.csv (the trace runs), schedules/sweep.csv (split schedules on the trace), " : "");
  res.report_path = out + "/report.md";
  write_file_atomic(res.report_path, md);
  res.found = !chosen.empty() && chosen.back().found;
  say(fmt::format("wrote {}", res.report_path));
  return res;
}

}  // namespace splitsim
