// The unified optimizer: an analytic screen of the whole grid (fleet model at the scenario's device count,
// edge memory, accuracy), verification of the best candidates in the simulator, the Pareto front, and the
// binding constraint when nothing fits. See optimizer.hpp for the method.
#include "explorer/optimizer.hpp"
#include "explorer/objectives.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "core/output.hpp"
#include "core/units.hpp"
#include "explorer/fleet_model.hpp"
#include "models/layer_graph.hpp"

namespace splitsim {
namespace {

using Setter = std::function<void(Scenario&)>;

// A setter for one grid value: the value read and checked by the scenario loader's own code for that key
// (core/scenario.hpp's scenario_knobs), once per value, then copied into each point's scenario.
Setter make_setter(const std::string& scenario_path, const std::string& key, const std::string& raw) {
  const ScenarioKnob* knob = find_knob(key);
  if (!knob) {
    std::string list;
    for (const auto& k : scenario_knobs()) {
      if (!list.empty()) list += ", ";
      list += k.key;
    }
    throw InputError(fmt::format("--set {}: the optimizer varies only {} (set other keys to one value)", key, list));
  }
  const std::string table = key.substr(0, key.find('.')), name = key.substr(key.find('.') + 1);
  auto src = parse_toml_text(fmt::format("[{}]\n{} = {}\n", table, name, normalize_value(raw)), scenario_path);
  src->overridden.insert(key);
  Scenario value;
  knob->read(TomlReader(src).table(table), value);
  return [knob, value](Scenario& sc) { knob->copy(value, sc); };
}

// A screened point: its optimizer_metrics() values, in table order.
struct Row {
  std::array<double, kOptimizerMetricCount> v{};
  int64_t max_seq_len = 0;
  bool oom = false;
  double operator[](const std::string& metric) const { return v[metric_index(*find_metric(metric))]; }
};

struct Screen {
  const SweepSpec& spec;
  const AccuracyModel& acc;
  Scenario base_sc;
  System base;
  std::vector<int64_t> valid_layers;
  std::vector<std::vector<Setter>> setters;  // per axis, per value
  std::vector<std::vector<std::string>> values;
  using PerfKey = std::array<double, 16>;
  mutable std::map<std::string, double> schedule_ids;  // split.schedule values met, for the perf key
  mutable std::map<PerfKey, Candidate> perf_cache;
  // The server profiles a server.profile axis names, loaded once: a point's profile replaces the system's.
  std::vector<std::string> server_profile_names;
  std::map<std::string, HwProfile> server_profiles;
  // The device profile at each mode an edge.power_mode axis names (from the profile file, not a mode of a mode).
  std::vector<std::string> power_mode_names;
  std::map<std::string, HwProfile> mode_profiles;

  Screen(const SweepSpec& s, const AccuracyModel& a) : spec(s), acc(a) {
    std::vector<Override> fixed;
    for (const auto& [k, v] : spec.fixed) fixed.push_back(Override{k, {v}, k + "=" + v});
    base_sc = load_scenario(spec.scenario, fixed);
    base = resolve_system(base_sc);
    valid_layers = valid_split_layers(base.model);
    for (const auto& ax : spec.axes) {
      setters.emplace_back();
      values.push_back(ax.values);
      for (const auto& v : ax.values) setters.back().push_back(make_setter(spec.scenario, ax.key, v));
      if (ax.key == "server.profile")
        for (const Setter& set : setters.back()) load_server_profile(set);
      if (ax.key == "edge.power_mode")
        for (const Setter& set : setters.back()) load_power_mode(set);
    }
  }

  void load_server_profile(const Setter& set) {
    Scenario sc = base_sc;
    set(sc);
    const std::string& name = sc.server.profile;
    if (server_profiles.count(name)) return;
    HwProfile h;
    try {
      h = load_hw_profile(name);
    } catch (const InputError& e) {
      throw InputError(fmt::format("--set server.profile: {}", e.what()));
    }
    if (h.kind != "cloud")
      throw InputError(fmt::format("--set server.profile: expected a cloud profile, got \"{}\" (a {} profile)", name, h.kind));
    server_profile_names.push_back(name);
    server_profiles.emplace(name, std::move(h));
  }

  void load_power_mode(const Setter& set) {
    Scenario sc = base_sc;
    set(sc);
    const std::string& mode = sc.fleet.at(0).power_mode;
    if (mode_profiles.count(mode)) return;
    const HwProfile raw = load_hw_profile(sc.fleet[0].profile);
    try {
      mode_profiles.emplace(mode, mode.empty() ? raw : in_power_mode(raw, mode));
    } catch (const std::invalid_argument& e) {
      throw InputError(fmt::format("--set edge.power_mode: expected {}, got \"{}\"", e.what(), mode));
    }
    power_mode_names.push_back(mode);
  }

  double server_profile_id(const Scenario& sc) const {
    const auto it = std::find(server_profile_names.begin(), server_profile_names.end(), sc.server.profile);
    return static_cast<double>(it - server_profile_names.begin());
  }

  bool excluded(const std::vector<size_t>& idx) const {
    for (const auto& r : spec.exclude) {
      bool match = !r.when.empty();
      for (const auto& [key, vals] : r.when) {
        const std::string* have = nullptr;
        for (size_t k = 0; k < spec.axes.size(); ++k)
          if (spec.axes[k].key == key) have = &spec.axes[k].values[idx[k]];
        for (const auto& [fk, fv] : spec.fixed)
          if (!have && fk == key) have = &fv;
        bool any = false;
        if (have)
          for (const auto& v : vals) any = any || v == *have;
        match = match && any;
      }
      if (match) return true;
    }
    return false;
  }

  // Applies a point to `sys` (a copy of base); false when the point is not a valid configuration.
  bool apply(const std::vector<size_t>& idx, System& sys) const {
    sys.scenario = base_sc;
    for (size_t k = 0; k < idx.size(); ++k) setters[k][idx[k]](sys.scenario);
    const Scenario& sc = sys.scenario;
    if (sc.split.schedule.empty() &&
        std::find(valid_layers.begin(), valid_layers.end(), sc.split.layer) == valid_layers.end())
      return false;
    if (sc.workload.max_seq_len > sys.model.max_seq_len || cross_key_problem(sc)) return false;
    for (size_t g = 0; g < sys.fleet.size(); ++g) sys.fleet[g].group = sc.fleet[g];
    for (size_t g = 0; g < sys.server_groups.size() && g < sc.server.groups.size(); ++g)
      sys.server_groups[g].config.count = sc.server.groups[g].count;
    if (!mode_profiles.empty()) sys.fleet[0].device = mode_profiles.at(sc.fleet[0].power_mode);
    if (!server_profiles.empty() && sys.server_groups[0].config.profile != sc.server.profile) {
      const HwProfile& h = server_profiles.at(sc.server.profile);
      sys.server = h;
      sys.server_groups[0].profile = h;
      sys.server_groups[0].config.profile = sc.server.profile;
    }
    sys.plan = make_plan(sc, sys.model.n_layers);
    try {
      apply_split_schedule(sc, sys.model, valid_layers, sys.plan);
    } catch (const InputError&) {
      return false;  // a schedule this strategy cannot follow (the sweep would refuse it the same way)
    }
    return true;
  }

  // Full evaluation of a point: codec statistics, fleet estimate, memory, accuracy.
  Candidate evaluate(const std::vector<size_t>& idx, System& sys, bool full = true) const {
    Candidate c;
    c.codec = acc.codec_stats(sys);
    if (sys.plan.wire == WireFormat::ts_tabq) {
      sys.codec_stats = {c.codec.mean_bits, c.codec.outliers_per_token};
      if (full)  // the chosen scenario carries them as its [codec] inputs, so it runs alone with the same bytes
        c.derived = {{"codec.mean_bits", format_double(c.codec.mean_bits)},
                     {"codec.outliers_per_token", format_double(c.codec.outliers_per_token)}};
    }
    // The codec settings reach the cost model only through (mean_bits, outliers_per_token), so points that
    // differ only in codec settings with equal statistics share one fleet estimate.
    const Scenario& sc = sys.scenario;
    const double schedule_id = schedule_ids.emplace(sc.split.schedule, static_cast<double>(schedule_ids.size())).first->second;
    PerfKey key = {static_cast<double>(sys.plan.split_layer), static_cast<double>(sc.split.edge_bits),
                   static_cast<double>(sc.split.cloud_bits), static_cast<double>(sc.split.kv_bits),
                   static_cast<double>(sc.split.group_size), sys.codec_stats.mean_bits, sys.codec_stats.outliers_per_token,
                   static_cast<double>(sc.codec.uniform_bits), static_cast<double>(sc.workload.max_seq_len),
                   static_cast<double>(sc.device_count()), static_cast<double>(sc.server.max_batch),
                   static_cast<double>(static_cast<int>(sys.plan.wire)), static_cast<double>(sys.server_count()),
                   server_profile_id(sc),
                   static_cast<double>(std::find(power_mode_names.begin(), power_mode_names.end(), sc.fleet[0].power_mode) -
                                       power_mode_names.begin()),
                   schedule_id};
    auto it = perf_cache.find(key);
    if (it == perf_cache.end() || full) {
      CostModel cm(sys);
      FleetEstimate f = estimate_fleet(cm);
      Candidate p;
      double mem = 0;
      for (const auto& g : f.groups) mem = std::max(mem, g.alone.edge_memory.total());
      p.edge_memory = mem;
      p.oom = f.infeasible;
      p.reason = f.reason;
      p.ttft = f.mean_ttft();
      p.tpot = f.mean_tpot();
      p.e2e = f.mean_e2e();
      p.server_load = f.server_busy_per_token;
      p.throughput = f.throughput;
      p.utilization = f.utilization;
      p.edge_energy_per_token = f.edge_energy_per_token;
      for (const auto& g : f.groups) p.pause = std::max(p.pause, g.alone.tbt_max + std::max(0.0, g.tpot - g.alone.tpot));
      if (!f.groups.empty()) {
        p.bytes_up_per_token = f.groups[0].alone.bytes_up_per_token;
        p.decode = f.groups[0].alone.decode_mean;
        p.prefill = f.groups[0].alone.prefill;
      }
      it = perf_cache.insert_or_assign(key, p).first;
    }
    const Candidate& p = it->second;
    c.edge_memory = p.edge_memory;
    c.oom = p.oom;
    c.reason = p.reason;
    c.ttft = p.ttft;
    c.tpot = p.tpot;
    c.e2e = p.e2e;
    c.server_load = p.server_load;
    c.throughput = p.throughput;
    c.utilization = p.utilization;
    c.edge_energy_per_token = p.edge_energy_per_token;
    c.pause = p.pause;
    c.servers = static_cast<double>(sys.server_count());
    c.server_usd_per_hour = sys.server_usd_per_hour().value_or(std::numeric_limits<double>::quiet_NaN());
    c.bytes_up_per_token = p.bytes_up_per_token;
    c.decode = p.decode;
    c.prefill = p.prefill;
    c.accuracy = acc.evaluate(sys, full);
    if (full)
      for (size_t k = 0; k < idx.size(); ++k) c.knobs.emplace_back(spec.axes[k].key, spec.axes[k].values[idx[k]]);
    return c;
  }

  std::vector<size_t> decode_index(int64_t i) const {
    std::vector<size_t> idx(spec.axes.size());
    for (size_t k = spec.axes.size(); k-- > 0;) {
      idx[k] = static_cast<size_t>(i % static_cast<int64_t>(spec.axes[k].values.size()));
      i /= static_cast<int64_t>(spec.axes[k].values.size());
    }
    return idx;
  }

  Candidate candidate(int64_t index) const {
    System sys = base;
    auto idx = decode_index(index);
    apply(idx, sys);
    Candidate c = evaluate(idx, sys);
    c.index = index;
    return c;
  }
};

bool lower_metric(const std::string& m) { return find_metric(m)->lower_is_better; }

std::string metric_unit_text(const std::string& metric, double v) { return metric_text(*find_metric(metric), v); }

// Sorting key: objective, then accuracy, then longer sequences, then less edge memory.
bool better(const Row& a, const Row& b, const std::string& objective) {
  double va = a[objective], vb = b[objective];
  if (!lower_metric(objective)) va = -va, vb = -vb;
  if (std::abs(va - vb) > 1e-9 * std::max(std::abs(va), std::abs(vb))) return va < vb;
  if (a["accuracy_loss"] != b["accuracy_loss"]) return a["accuracy_loss"] < b["accuracy_loss"];
  if (a.max_seq_len != b.max_seq_len) return a.max_seq_len > b.max_seq_len;
  return a["edge_memory"] < b["edge_memory"];
}

}  // namespace

Constraint parse_constraint(const std::string& text) {
  Constraint c;
  c.text = text;
  size_t op = text.find_first_of("<>");
  if (op == std::string::npos || op == 0)
    throw InputError(fmt::format("--constraint {}: expected METRIC<=VALUE or METRIC>=VALUE like tpot<=150ms", text));
  c.metric = text.substr(0, op);
  c.at_most = text[op] == '<';
  size_t v0 = op + 1 + (op + 1 < text.size() && text[op + 1] == '=' ? 1 : 0);
  std::string value = text.substr(v0);
  std::string pct = c.metric.find('.') == std::string::npos ? "" : c.metric.substr(c.metric.find('.') + 1);
  const OptimizerMetric* m = find_metric(c.metric);
  if (!m || (!pct.empty() && (!m->percentiles || (pct != "mean" && pct != "p50" && pct != "p90" && pct != "p99" &&
                                                  pct != "max")))) {
    std::string names;
    for (const auto& x : optimizer_metrics()) {
      if (!names.empty()) names += ", ";
      names += x.name;
    }
    throw InputError(fmt::format("--constraint {}: expected a metric of {} (latencies may add .p50/.p90/.p99/.max), "
                                 "got \"{}\"",
                                 text, names, c.metric));
  }
  try {
    if (m->unit == MetricUnit::bytes) {
      c.value = parse_quantity(value, Dim::bytes);
    } else if (m->unit == MetricUnit::fraction) {
      bool percent = !value.empty() && value.back() == '%';
      size_t used = 0;
      std::string num = percent ? value.substr(0, value.size() - 1) : value;
      c.value = std::stod(num, &used);
      if (used != num.size() || c.value < 0) throw std::invalid_argument("not a number");
      if (percent) c.value /= 100;
    } else if (m->unit == MetricUnit::count) {
      size_t used = 0;
      c.value = std::stod(value, &used);
      if (used != value.size() || c.value < 0) throw std::invalid_argument("not a count");
    } else if (m->unit == MetricUnit::usd_per_hour || m->unit == MetricUnit::usd) {
      // $3/h, 3USD/h, 3 (per hour); $0.05, 0.05USD (per million tokens)
      std::string num = !value.empty() && value[0] == '$' ? value.substr(1) : value;
      size_t used = 0;
      c.value = std::stod(num, &used);
      std::string rest = num.substr(used);
      if (rest.rfind("USD", 0) == 0) rest = rest.substr(3);
      const bool ok = rest.empty() || (m->unit == MetricUnit::usd_per_hour && rest == "/h");
      if (!ok || !(c.value >= 0) || !std::isfinite(c.value)) throw std::invalid_argument("price");
    } else if (m->unit == MetricUnit::energy) {
      c.value = parse_quantity(value, Dim::energy);
    } else if (m->unit == MetricUnit::tokens_per_s) {
      size_t used = 0;
      c.value = std::stod(value, &used);
      std::string rest = value.substr(used);
      if (!rest.empty() && rest != "/s" && rest != "tokens/s" && rest != "tok/s") throw std::invalid_argument("unit");
    } else {
      c.value = parse_quantity(value, Dim::time);
    }
  } catch (const std::exception&) {
    const char* form = m->unit == MetricUnit::bytes          ? "a size like 8GiB"
                       : m->unit == MetricUnit::fraction     ? "a percentage like 0.5% or a fraction like 0.005"
                       : m->unit == MetricUnit::tokens_per_s ? "tokens per second like 100"
                       : m->unit == MetricUnit::count        ? "a count like 4"
                       : m->unit == MetricUnit::usd_per_hour ? "US dollars per hour like $12/h"
                       : m->unit == MetricUnit::usd          ? "US dollars like $0.50"
                       : m->unit == MetricUnit::energy       ? "an energy like 50mJ"
                                                             : "a duration like 150ms";
    throw InputError(fmt::format("--constraint {}: expected {} after the operator, got \"{}\"", text, form, value));
  }
  return c;
}

namespace {
// The contexts at which the generated two-band schedules move (schedule_axis, memory_matched_schedules).
constexpr int64_t kScheduleMoves[] = {256, 512, 1024, 2048};
}  // namespace

Axis schedule_axis(const System& base, const std::vector<int64_t>& layers, bool thin, int64_t max_bands) {
  Axis ax{"split.schedule", {}};
  for (int64_t s : layers) ax.values.push_back(fmt::format("\"0:{}\"", s));
  // Schedules over at most 9 of the splits (evenly spaced, ends kept), moving at a few contexts.
  std::vector<int64_t> pick = layers;
  std::sort(pick.begin(), pick.end());
  if (thin && pick.size() > 9) {
    std::vector<int64_t> t;
    for (size_t i = 0; i < 9; ++i) t.push_back(pick[i * (pick.size() - 1) / 8]);
    pick = t;
  }
  std::vector<int64_t> moves;
  for (int64_t c : kScheduleMoves)
    if (c < base.model.max_seq_len) moves.push_back(c);
  // Bands by count (two, then three, ...), each by its move contexts, then its splits from the highest down: the
  // two-band part is the axis it always was.
  for (int64_t bands = 2; bands <= max_bands; ++bands) {
    std::vector<size_t> ctx, split;  // indices into moves (increasing) and pick (decreasing)
    std::function<void(size_t)> contexts, splits;
    splits = [&](size_t from) {
      if (static_cast<int64_t>(split.size()) == bands) {
        std::string text = fmt::format("0:{}", pick[split[0]]);
        for (size_t b = 1; b < split.size(); ++b) text += fmt::format(",{}:{}", moves[ctx[b - 1]], pick[split[b]]);
        ax.values.push_back("\"" + text + "\"");
        return;
      }
      for (size_t i = 0; i < from; ++i) {  // below the previous band's split
        split.push_back(i);
        splits(i);
        split.pop_back();
      }
    };
    contexts = [&](size_t from) {
      if (static_cast<int64_t>(ctx.size()) == bands - 1) {
        for (size_t i = 0; i < pick.size(); ++i) {
          split.assign(1, i);
          splits(i);
        }
        return;
      }
      for (size_t c = from; c < moves.size(); ++c) {
        ctx.push_back(c);
        contexts(c + 1);
        ctx.pop_back();
      }
    };
    contexts(0);
  }
  return ax;
}

std::vector<std::string> memory_matched_schedules(const System& sys) {
  std::vector<std::string> out;
  const int64_t S = sys.plan.split_layer;
  if (sys.plan.schedule || !sys.plan.edge_embeds || !sys.plan.server_has_head || !hidden_codec(sys.plan.wire)) return out;
  const double budget = CostModel(sys).edge_memory(0).total();
  std::vector<int64_t> layers = valid_split_layers(sys.model);
  std::sort(layers.rbegin(), layers.rend());
  System t = sys;
  for (int64_t c : kScheduleMoves) {
    if (c >= sys.scenario.workload.max_seq_len) continue;
    for (int64_t s1 : layers) {
      if (s1 <= S) break;
      t.plan.schedule = SplitSchedule::from_bands({{0, s1}, {c, S}}, sys.model.n_layers, "schedule");
      t.plan.split_layer = s1;
      if (CostModel(t).edge_memory(0).total() <= budget * (1 + 1e-12)) {
        out.push_back(t.plan.schedule->to_string());
        break;
      }
    }
  }
  return out;
}

std::vector<Axis> default_axes(const System& base, const std::string& strategy) {
  const Scenario& sc = base.scenario;
  auto ints = [](std::vector<int64_t> v) {
    std::vector<std::string> out;
    for (auto x : v) out.push_back(std::to_string(x));
    return out;
  };
  std::vector<Axis> axes;
  std::vector<int64_t> layers = valid_split_layers(base.model);
  const bool split = strategy == "opsc" || strategy == "split-fp16" || strategy == "split-uniform";
  if (split) axes.push_back({"split.layer", ints(layers)});
  if (strategy == "opsc" || strategy == "split-uniform" || strategy == "edge-only")
    axes.push_back({"split.edge_bits", ints({2, 3, 4, 8, 16})});
  if (strategy == "opsc" || strategy == "cloud-only") axes.push_back({"split.cloud_bits", ints({4, 8, 16})});
  axes.push_back({"split.kv_bits", ints({8, 16})});
  if (strategy == "opsc") {
    axes.push_back({"codec.ts_mode", {"\"none\"", "\"sigma\"", "\"percentile\""}});
    axes.push_back({"codec.ts_threshold", {"0.001", "3.0", "6.0"}});
    axes.push_back({"codec.tabq_eps", {"0.001", "0.01", "0.03"}});
    axes.push_back({"codec.tabq_bits", {"[2, 3, 4, 6, 8]", "[4, 8]"}});
  }
  if (strategy == "split-uniform") axes.push_back({"codec.uniform_bits", ints({4, 8})});
  std::vector<int64_t> seq;
  const int64_t need = sc.workload.prompt_tokens.upper_bound() + sc.workload.output_tokens.upper_bound();
  for (int64_t s : {256, 512, 1024, 2048, 4096})
    if (s >= need && s <= base.model.max_seq_len) seq.push_back(s);
  if (seq.empty()) seq.push_back(sc.workload.max_seq_len);
  axes.push_back({"workload.max_seq_len", ints(seq)});
  return axes;
}

namespace {
// Exclusions that keep only meaningful TS (mode, threshold) pairs of the default axes.
std::vector<ExcludeRule> default_exclusions() {
  return {ExcludeRule{{{"codec.ts_mode", {"\"none\""}}, {"codec.ts_threshold", {"0.001", "3.0"}}}},
          ExcludeRule{{{"codec.ts_mode", {"\"sigma\""}}, {"codec.ts_threshold", {"0.001"}}}},
          ExcludeRule{{{"codec.ts_mode", {"\"percentile\""}}, {"codec.ts_threshold", {"3.0", "6.0"}}}}};
}
}  // namespace

std::vector<Assignment> Candidate::settings() const {
  std::vector<Assignment> s = knobs;
  s.insert(s.end(), derived.begin(), derived.end());
  return s;
}

double metric_value(const Candidate& c, const std::string& metric) {
  const std::string pct = metric.find('.') == std::string::npos ? "mean" : metric.substr(metric.find('.') + 1);
  const OptimizerMetric& m = *find_metric(metric);
  if (c.verified && c.verify_status == "ok" && *m.summary_key) {
    const auto& s = c.verified_summary;
    if (!s.contains(m.summary_key)) return NAN;
    const auto& v = s[m.summary_key];
    if (v.is_null()) return NAN;  // e.g. a price of an unpriced pool
    return v.is_object() ? v.value(pct, NAN) : v.get<double>();
  }
  return m.analytic(c);
}

double objective_value(const Candidate& c, const std::string& objective) {
  double v = metric_value(c, objective);
  return lower_metric(objective) ? v : -v;
}

namespace {

// Every point of the grid through the analytic screen, in grid order (invalid and excluded points marked).
struct Screened {
  std::vector<Row> rows;
  std::vector<char> valid;
  bool any_measured = false, any_estimated = false;
};

Screened screen_grid(const Screen& s, const SweepSpec& spec, OptimizeResult& res) {
  const int64_t total = grid_size(spec);
  Screened t;
  t.rows.resize(static_cast<size_t>(total));
  t.valid.assign(static_cast<size_t>(total), 0);
  std::vector<size_t> idx(spec.axes.size(), 0);
  System sys = s.base;
  for (int64_t i = 0; i < total; ++i) {
    if (i > 0)
      for (size_t k = spec.axes.size(); k-- > 0;) {
        if (++idx[k] < spec.axes[k].values.size()) break;
        idx[k] = 0;
      }
    if (s.excluded(idx)) continue;
    if (!s.apply(idx, sys)) {
      ++res.invalid;
      continue;
    }
    Candidate c = s.evaluate(idx, sys, false);
    (c.accuracy.measured ? t.any_measured : t.any_estimated) = true;
    Row& r = t.rows[static_cast<size_t>(i)];
    for (const auto& m : optimizer_metrics()) r.v[metric_index(m)] = m.analytic(c);
    r.max_seq_len = sys.scenario.workload.max_seq_len;
    r.oom = c.oom;
    t.valid[static_cast<size_t>(i)] = 1;
    ++res.screened;
    if (c.oom) ++res.oom;
  }
  return t;
}

// A row fits the edge memory and meets every constraint but the skip-th (-1: all of them).
bool meets(const Row& r, const std::vector<Constraint>& constraints, int skip) {
  if (r.oom) return false;
  for (size_t k = 0; k < constraints.size(); ++k) {
    if (static_cast<int>(k) == skip) continue;
    if (!constraints[k].ok(r[constraints[k].metric])) return false;
  }
  return true;
}

// Memory-feasible points sorted by latency, accuracy loss, edge memory; and the Pareto front over the three, all
// minimized (latency: the objective, or TPOT for non-latency objectives).
std::vector<int64_t> pareto_front(const Screened& t, const std::string& objective, std::vector<int64_t>& ok) {
  const std::string lat = (objective == "ttft" || objective == "e2e") ? objective : "tpot";
  for (size_t i = 0; i < t.rows.size(); ++i)
    if (t.valid[i] && !t.rows[i].oom) ok.push_back(static_cast<int64_t>(i));
  std::sort(ok.begin(), ok.end(), [&](int64_t a, int64_t b) {
    const Row &ra = t.rows[static_cast<size_t>(a)], &rb = t.rows[static_cast<size_t>(b)];
    double la = ra[lat], lb = rb[lat];
    if (la != lb) return la < lb;
    if (ra["accuracy_loss"] != rb["accuracy_loss"]) return ra["accuracy_loss"] < rb["accuracy_loss"];
    return ra["edge_memory"] < rb["edge_memory"];
  });
  std::vector<int64_t> front;
  for (int64_t i : ok) {
    const Row& r = t.rows[static_cast<size_t>(i)];
    bool dominated = false;
    for (int64_t j : front) {
      const Row& q = t.rows[static_cast<size_t>(j)];
      if (q["accuracy_loss"] <= r["accuracy_loss"] && q["edge_memory"] <= r["edge_memory"]) {
        dominated = true;
        break;
      }
    }
    if (!dominated) front.push_back(i);
  }
  return front;
}

// When no point is feasible: the binding constraint (alone responsible, with the best value the others allow),
// or memory, or the constraints that bind together.
std::string binding_constraint(const Screened& t, const Screen& s, const OptimizeResult& res,
                               const std::vector<Constraint>& constraints) {
  bool all_oom = true;
  double min_mem = INFINITY, cap = 0;
  for (size_t i = 0; i < t.rows.size(); ++i)
    if (t.valid[i]) {
      all_oom = all_oom && t.rows[i].oom;
      min_mem = std::min(min_mem, t.rows[i]["edge_memory"]);
    }
  for (const auto& g : s.base.fleet) cap = std::max(cap, g.device.memory_capacity.value);
  if (res.screened == 0) return "no valid configuration in the grid";
  if (all_oom)
    return fmt::format("every configuration is out of memory: the smallest needs {} of edge memory ({} available)",
                       format_bytes(min_mem), format_bytes(cap));
  std::string why;
  for (size_t k = 0; k < constraints.size(); ++k) {
    const auto& c = constraints[k];
    double best = c.at_most ? INFINITY : -INFINITY;
    int64_t n = 0;
    for (size_t i = 0; i < t.rows.size(); ++i) {
      if (!t.valid[i] || !meets(t.rows[i], constraints, static_cast<int>(k))) continue;
      ++n;
      double v = t.rows[i][c.metric];
      best = c.at_most ? std::min(best, v) : std::max(best, v);
    }
    if (n > 0)
      why += fmt::format("{}binding constraint {}: the best {} meeting every other constraint is {} ({} points)",
                         why.empty() ? "" : "; ", c.text, c.metric, metric_unit_text(c.metric, best), n);
  }
  if (!why.empty()) return why;
  for (const auto& c : constraints) {
    double best = c.at_most ? INFINITY : -INFINITY;
    for (size_t i = 0; i < t.rows.size(); ++i) {
      if (!t.valid[i] || t.rows[i].oom) continue;
      double v = t.rows[i][c.metric];
      best = c.at_most ? std::min(best, v) : std::max(best, v);
    }
    why += fmt::format("{}{}: best in the grid {}", why.empty() ? "several constraints bind together: " : "; ", c.text,
                       metric_unit_text(c.metric, best));
  }
  return why;
}

// An energy objective or constraint needs power figures for every device group and its link.
void check_powered(const Screen& s, const OptimizeOptions& opt) {
  std::string use;
  if (opt.objective == "edge_energy") use = "--objective edge_energy";
  for (const auto& c : opt.constraints)
    if (use.empty() && find_metric(c.metric) == find_metric("edge_energy")) use = "--constraint " + c.text;
  if (use.empty()) return;
  for (const auto& g : s.base.fleet) {
    if (!g.device.power)
      throw InputError(fmt::format("{}: device profile \"{}\" has no power figures (hwprofiles/{}.toml: expected a "
                                   "[power] table with idle and active)", use, g.device.name, g.device.name));
    if (!g.link.radio)
      throw InputError(fmt::format("{}: link \"{}\" has no radio figures (hwprofiles/links/{}.toml: expected a [radio] "
                                   "table)", use, g.link.name, g.link.name));
  }
}

// A price objective or constraint needs every server profile of the grid priced (usd_per_hour).
void check_priced(const Screen& s, const OptimizeOptions& opt) {
  std::vector<std::string> uses;
  for (const auto& m : optimizer_metrics())
    if (m.unit == MetricUnit::usd_per_hour || m.unit == MetricUnit::usd) {
      if (opt.objective == m.name) uses.push_back("--objective " + opt.objective);
      for (const auto& c : opt.constraints)
        if (find_metric(c.metric) == &m) uses.push_back("--constraint " + c.text);
    }
  if (uses.empty()) return;
  std::vector<const HwProfile*> profiles;
  for (const auto& g : s.base.server_groups) profiles.push_back(&g.profile);
  for (const auto& [name, h] : s.server_profiles) profiles.push_back(&h);
  for (const HwProfile* h : profiles)
    if (!h->usd_per_hour)
      throw InputError(fmt::format("{}: server profile \"{}\" has no price (hwprofiles/{}.toml: expected usd_per_hour "
                                   "= {{ value = ..., source = \"price: ...\" }})",
                                   uses.front(), h->name, h->name));
}

}  // namespace

OptimizeResult screen(const SweepSpec& spec, const OptimizeOptions& opt, const AccuracyModel& acc) {
  const auto t0 = std::chrono::steady_clock::now();
  Screen s(spec, acc);
  OptimizeResult res;
  res.spec = spec;
  check_grid_size(spec);
  check_priced(s, opt);
  check_powered(s, opt);
  const Screened t = screen_grid(s, spec, res);
  res.accuracy_label = t.any_measured && t.any_estimated ? "measured+estimated" : t.any_measured ? "measured" : "estimated";

  std::vector<int64_t> feasible;
  for (size_t i = 0; i < t.rows.size(); ++i)
    if (t.valid[i] && meets(t.rows[i], opt.constraints, -1)) feasible.push_back(static_cast<int64_t>(i));
  res.feasible = static_cast<int64_t>(feasible.size());
  const size_t keep = static_cast<size_t>(std::max(opt.verify, 10));
  std::partial_sort(feasible.begin(), feasible.begin() + static_cast<long>(std::min(keep, feasible.size())),
                    feasible.end(), [&](int64_t a, int64_t b) {
                      return better(t.rows[static_cast<size_t>(a)], t.rows[static_cast<size_t>(b)], opt.objective);
                    });
  for (size_t i = 0; i < std::min(keep, feasible.size()); ++i) res.top.push_back(s.candidate(feasible[i]));

  std::vector<int64_t> ok;
  for (int64_t i : pareto_front(t, opt.objective, ok)) res.pareto.push_back(s.candidate(i));
  const size_t stride = std::max<size_t>(1, ok.size() / 3000);
  for (size_t i = 0; i < ok.size(); i += stride) res.sample.push_back(s.candidate(ok[i]));
  if (feasible.empty()) res.binding = binding_constraint(t, s, res, opt.constraints);
  res.screen_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

namespace {

// The grid: the user's fixed keys and axes, and for every other key the optimizer varies, its default axis.
SweepSpec optimizer_grid(const SweepSpec& user, const System& base, const OptimizeOptions& opt) {
  SweepSpec spec = user;
  spec.origin = "optimize";
  spec.axes.clear();
  if (opt.default_grid) {
    for (auto& ax : default_axes(base, base.scenario.split.strategy)) {
      bool fixed_by_user = std::any_of(user.fixed.begin(), user.fixed.end(), [&](auto& a) { return a.first == ax.key; });
      bool axis_by_user = std::any_of(user.axes.begin(), user.axes.end(), [&](auto& a) { return a.key == ax.key; });
      if (!fixed_by_user && !axis_by_user) spec.axes.push_back(ax);
    }
    spec.exclude = default_exclusions();
  }
  for (const auto& ax : user.axes) spec.axes.push_back(ax);
  if (opt.split_schedules) {
    // The split.layer axis (or the fixed split) becomes a split.schedule axis: every split alone, and every pair.
    auto ax = std::find_if(spec.axes.begin(), spec.axes.end(), [](const Axis& a) { return a.key == "split.layer"; });
    std::vector<int64_t> layers;
    if (ax != spec.axes.end()) {
      for (const auto& v : ax->values) layers.push_back(std::stoll(v));
      spec.axes.erase(ax);
    } else {
      layers.push_back(base.scenario.split.layer);
    }
    const bool user_grid = std::any_of(user.axes.begin(), user.axes.end(), [](auto& a) { return a.key == "split.layer"; });
    spec.axes.push_back(schedule_axis(base, layers, !user_grid, opt.schedule_bands));
  }
  return spec;
}

// Runs the best analytic candidates at the scenario's device count (a sweep in the chosen engine) and chooses
// the best verified one that meets every constraint.
void verify(const std::string& scenario, const SweepSpec& spec, const OptimizeOptions& opt, OptimizeResult& res) {
  SweepSpec vs;
  vs.scenario = scenario;
  vs.origin = "optimize verification";
  vs.fixed = spec.fixed;
  const size_t n = std::min(res.top.size(), static_cast<size_t>(opt.verify));
  for (size_t i = 0; i < n; ++i) vs.cases.push_back(SweepCase{fmt::format("rank{}", i + 1), res.top[i].settings()});
  SweepOptions so = opt.sweep;
  so.out_dir = opt.sweep.out_dir + "/verify";
  so.shard = Shard{};
  SweepResult sr = run_sweep(vs, so);
  for (size_t i = 0; i < n; ++i) {
    auto& c = res.top[i];
    const auto& p = sr.points[i];
    c.verified = true;
    c.verify_status = p.status;
    c.verify_reason = p.reason;
    c.verify_dir = p.dir;
    c.verified_summary = p.summary;
  }
  int best = -1;
  for (size_t i = 0; i < n; ++i) {
    const auto& c = res.top[i];
    if (c.verify_status != "ok") continue;
    bool ok = true;
    for (const auto& con : opt.constraints) ok = ok && con.ok(metric_value(c, con.metric));
    if (!ok) continue;
    if (best < 0 ||
        objective_value(c, opt.objective) < objective_value(res.top[static_cast<size_t>(best)], opt.objective) * (1 - 1e-9))
      best = static_cast<int>(i);
  }
  if (best >= 0) {
    res.found = true;
    res.chosen = res.top[static_cast<size_t>(best)];
  } else {
    res.binding = fmt::format("none of the {} best analytic candidates meets the constraints when verified with "
                              "engine {} (contention or the simulator's finer model)",
                              n, opt.sweep.engine);
  }
}

}  // namespace

OptimizeResult optimize(const std::string& scenario, const std::vector<std::string>& sets, const OptimizeOptions& opt) {
  AccuracyModel acc = AccuracyModel::load("", opt.accuracy_csv);
  SweepSpec user = spec_from_sets(scenario, sets);
  // Fixed keys first, so that the default axes see the scenario the user asked for.
  std::vector<Override> fixed;
  for (const auto& [k, v] : user.fixed) fixed.push_back(Override{k, {v}, k + "=" + v});
  const System base = resolve_system(load_scenario(scenario, fixed));
  const SweepSpec spec = optimizer_grid(user, base, opt);

  OptimizeResult res = screen(spec, opt, acc);
  std::filesystem::create_directories(opt.sweep.out_dir);
  if (opt.verify > 0 && !res.top.empty()) {
    verify(scenario, spec, opt, res);
  } else if (!res.top.empty()) {
    res.found = true;
    res.chosen = res.top[0];
  }
  write_optimize_outputs(res, opt, base.scenario.device_count(), acc.sources());
  return res;
}

}  // namespace splitsim
