// The validation loop: one resolved configuration, run for real by the split executor and simulated by the
// fleet simulator, metric by metric (see validate.hpp for what makes the comparison honest).
//
// The executor side mirrors the scenario exactly: the same model shape (the real stories260K checkpoint or
// seeded random weights of a models/ shape), split layer, weight bits and group size, wire codec and its
// parameters, the access link's rate and one-way delay (plus the backbone's, which the validation scenarios keep
// at zero), the scenario's client count, requests per client and fixed prompt/output lengths, greedy sampling.
// The executor server's batch window is widened from its 2 ms default (ValidateOptions::batch_window): with
// identical clients the simulator's continuous batching keeps them in lockstep, and a wider window keeps the
// real clients in lockstep too instead of letting OS scheduling jitter split a batch in two for good.
#include "explorer/validate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>

#include "core/error.hpp"
#include "core/metrics.hpp"
#include "core/output.hpp"
#include "core/scenario.hpp"
#include "core/units.hpp"
#include "executor/calibrate.hpp"
#include "executor/forward.hpp"
#include "executor/generate.hpp"
#include "executor/local_run.hpp"
#include "executor/model_files.hpp"
#include "executor/tokenizer.hpp"
#include "executor/weights.hpp"
#include "executor/wire.hpp"
#include "hwprofiles/cost_model.hpp"
#include "hwprofiles/measured_tables.hpp"
#include "hwprofiles/system.hpp"
#include "kernels/codec.hpp"
#include "sim/simulation.hpp"

namespace splitsim {

const MetricRow* ScenarioValidation::row(const std::string& metric) const {
  for (const auto& r : rows)
    if (r.metric == metric) return &r;
  return nullptr;
}

namespace {

// ---------------------------------------------------------------------------------------------- checks

void check_runnable(const Scenario& sc) {
  auto bad = [&](const std::string& key, const std::string& expected, const std::string& got) {
    throw_input(sc.where(key), key, expected + " (splitsim validate runs it on the executor)", got);
  };
  if (sc.fleet.size() != 1) bad("edge.groups", "a single device group", fmt::format("{} groups", sc.fleet.size()));
  if (sc.fleet[0].cell_size != 0) bad("edge.cell_size", "0 (private links: the executor shapes one link per client)",
                                      std::to_string(sc.fleet[0].cell_size));
  if (sc.fleet[0].count > 64) bad("edge.count", "at most 64 clients", std::to_string(sc.fleet[0].count));
  if (sc.server.shared_cores < 1)
    bad("server.shared_cores", "\"auto\" or this machine's core count (server and clients share its cores)",
        std::to_string(sc.server.shared_cores));
  const Workload& w = sc.workload;
  if (w.arrival != "closed" || w.think_time != 0)
    bad("workload.arrival", "closed-loop arrivals without think time", w.arrival);
  if (w.prompt_tokens.kind != "fixed") bad("workload.prompt_tokens", "a fixed length", w.prompt_tokens.kind);
  if (w.output_tokens.kind != "fixed") bad("workload.output_tokens", "a fixed length", w.output_tokens.kind);
}

void check_plan(const System& sys) {
  const Scenario& sc = sys.scenario;
  const Plan& p = sys.plan;
  if (p.wire != WireFormat::fp32 && p.wire != WireFormat::fp16 && p.wire != WireFormat::uniform &&
      p.wire != WireFormat::ts_tabq)
    throw_input(sc.where("split.strategy"), "split.strategy", "a strategy that sends a hidden state to the server",
                p.strategy);
  for (auto [key, bits] : {std::pair<const char*, int64_t>{"split.edge_bits", p.edge_bits}, {"split.cloud_bits", p.cloud_bits}})
    if (!weight_bits_supported(bits)) throw_input(sc.where(key), key, kWeightBitsExpected, std::to_string(bits));
}

// The measured tables the simulation must use, checked to cover this configuration.
void attach_tables(System& sys, const ValidateOptions& o) {
  std::shared_ptr<const MeasuredTables> given;
  if (!o.calibration.empty()) given = load_measured_tables(o.calibration);
  const Scenario& sc = sys.scenario;
  for (auto [key, hw] : {std::pair<const char*, HwProfile*>{"edge.profile", &sys.fleet[0].device}, {"server.profile", &sys.server}}) {
    if (hw->measured_ref.empty())
      throw_input(sc.where(key), key, "a profile with measured executor tables (host-cpu-edge, host-cpu-server)",
                  "\"" + hw->name + "\"");
    if (given) hw->measured = given;
    if (!hw->measured) throw InputError(fmt::format("{}: {}: {}: {}", sc.where(key), key, hw->name, hw->measured_note));
  }
  const ModelSpec& m = sys.model;
  const Plan& p = sys.plan;
  auto need_layers = [&](const HwProfile& hw, int64_t bits) {
    if (!hw.measured->layer(m.name, static_cast<int>(bits)))
      throw InputError(fmt::format("{}: no measured layer table for {} at {} bits (run `splitsim calibrate-executor "
                                   "--models {} --bits {}`)",
                                   hw.measured->file, m.name, bits, m.name, bits));
  };
  if (p.split_layer > 0) need_layers(sys.fleet[0].device, p.edge_bits);
  need_layers(sys.server, p.cloud_bits);
  const char* codec = wire_format_name(p.wire);
  for (const HwProfile* hw : {&sys.fleet[0].device, &sys.server})
    if (!hw->measured->codec(codec, m.dim))
      throw InputError(fmt::format("{}: no measured codec table for {} at d = {} (run `splitsim calibrate-executor` "
                                   "with --codecs {} and a model of that width)",
                                   hw->measured->file, codec, m.dim, codec));
}

// ---------------------------------------------------------------------------------------------- executor

// BOS, then tokens drawn from the scenario seed (splitmix64), the same for every client and repetition.
std::vector<int32_t> make_prompt(const ModelSpec& m, int64_t n, uint64_t seed) {
  std::vector<int32_t> p{kBosToken};
  uint64_t s = seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
  while (static_cast<int64_t>(p.size()) < n) {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    p.push_back(static_cast<int32_t>(2 + z % static_cast<uint64_t>(m.vocab_size - 2)));
  }
  return p;
}

struct Weights {
  ModelWeights edge, server;
  std::string source;
};

Weights load_weights(const System& sys, const std::string& mode) {
  const ModelSpec& m = sys.model;
  if (mode != "auto" && mode != "random" && mode != "checkpoint")
    throw InputError(fmt::format("--weights: expected auto, random or checkpoint, got \"{}\"", mode));
  std::optional<std::string> dir;
  if (mode != "random" && m.name == "stories260k") dir = find_model_dir();
  if (mode == "checkpoint" && !dir)
    throw InputError("--weights checkpoint: needs model stories260k and its files (set SPLITSIM_MODEL_DIR)");
  const int64_t s = sys.plan.split_layer;
  const int gs = static_cast<int>(sys.scenario.split.group_size);
  auto part = [&](const ModelPart& pt, int64_t bits) {
    ModelWeights w;
    if (dir) {
      w = load_checkpoint(*dir + "/stories260K.bin", &m);
      w.keep_only(pt);
    } else {
      w = random_weights(m, sys.scenario.seed, pt);
    }
    w.quantize(static_cast<int>(bits), gs);
    return w;
  };
  Weights w{part(ModelPart::edge(s), sys.plan.edge_bits),
            part(ModelPart::server(m, sys.plan.lowest_split()), sys.plan.cloud_bits), ""};
  w.source = dir ? "stories260K checkpoint" : fmt::format("random weights, seed {}", sys.scenario.seed);
  return w;
}

// Figures of one run (executor repetition or simulation), by metric name.
using Figures = std::map<std::string, double>;

// A stage's metric name in validation.csv: its requests.csv column without the unit ("edge_compute").
std::string stage_metric(const RequestField& f) {
  std::string n = f.name;
  return n.substr(0, n.size() - 2);  // "_s"
}

Figures figures(const std::vector<RequestRecord>& rows, double server_busy) {
  RunTotals t;
  t.server_busy = server_busy;
  const nlohmann::json s = summarize(rows, t);
  Figures f;
  f["ttft_mean"] = s["ttft_s"]["mean"];
  f["tpot_mean"] = s["tpot_s"]["mean"];
  f["tpot_p90"] = s["tpot_s"]["p90"];
  f["e2e_mean"] = s["e2e_s"]["mean"];
  f["server_busy"] = server_busy;
  const double n = static_cast<double>(std::max<size_t>(rows.size(), 1));
  for (const auto& r : rows) {
    f["bytes_up"] += r.bytes_up / n;
    f["bytes_down"] += r.bytes_down / n;
    for (const RequestField* st : latency_stages()) f[stage_metric(*st)] += r.*std::get<double RequestRecord::*>(st->member) / n;
  }
  return f;
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Mean TAB-Q bits and outliers per token of the hidden states request `e` sent: the edge part replayed on its
// prompt and generated tokens (the forward pass is deterministic, so these are the blocks that were encoded).
// Returns the number of blocks whose predicted size differs from the bytes the executor counted (0 expected).
int64_t codec_statistics(const ModelWeights& edge, const Plan& plan, const CodecSpec& wc,
                         std::span<const int32_t> prompt, const EdgeResult& e, double& mean_bits,
                         double& mean_outliers) {
  const ModelSpec& m = edge.spec;
  const CodecParams cp = codec_params(wc);
  KvCache cache(m, edge.part, context_for(m, static_cast<int64_t>(prompt.size()), static_cast<int64_t>(e.steps.size())));
  Workspace ws;
  Eigen::MatrixXf x;
  std::vector<int32_t> block(prompt.begin(), prompt.end());
  double bits = 0, outliers = 0, tokens = 0;
  int64_t mismatches = 0;
  for (size_t k = 0; k < e.steps.size(); ++k) {
    if (k > 0) block.assign(1, e.tokens[k - 1]);
    embed(edge, block, x);
    Segment seg{&cache, static_cast<int64_t>(block.size())};
    forward_layers(edge, {&seg, 1}, x, ws, plan.split_at(cache.pos));
    const EncodePlan ep = analyze(x.data(), x.cols(), x.rows(), cp);
    for (auto b : ep.bits) bits += b;
    for (auto o : ep.outliers) outliers += o;
    tokens += static_cast<double>(ep.bits.size());
    if (kFrameHeaderBytes + encoded_size(ep) != e.steps[k].bytes_up) ++mismatches;
  }
  mean_bits = tokens > 0 ? bits / tokens : 0;
  mean_outliers = tokens > 0 ? outliers / tokens : 0;
  return mismatches;
}

}  // namespace

// ---------------------------------------------------------------------------------------------- one scenario

namespace {

// The executor's run of a scenario: its edge (link shaping, codec, greedy decoding) and server options.
struct ExecutorSetup {
  EdgeOptions edge;
  ServerOptions server;
  std::vector<int32_t> prompt;
};

ExecutorSetup executor_setup(const System& sys, const ValidateOptions& o) {
  const Scenario& sc = sys.scenario;
  ExecutorSetup x;
  x.edge.split = sys.plan.split_layer;
  x.edge.schedule = sys.plan.schedule;
  const LinkProfile& a = sys.fleet[0].link;
  const LinkProfile& b = sys.backbone;
  if (b.trace)
    throw InputError(fmt::format("{}: server.backbone: expected a constant link, got {} (its rate follows {})",
                                 sc.origin, b.name, std::filesystem::path(b.trace->path).filename().string()));
  // A changing access link: every client's shaper follows the trace from its own start, the simulated devices from
  // time 0 at phase 0, so the scenario must align them. (Full mode, which validation runs in, keeps a transfer's
  // rate when the link speeds up mid-transfer: rare for blocks this small against a trace of seconds.)
  if (a.trace && sc.fleet[0].trace_phase != "aligned")
    throw InputError(fmt::format("{}: edge.trace_phase: expected \"aligned\" with the changing link {} (the executor's "
                                 "clients follow its trace from their common start), got \"{}\"",
                                 sc.origin, a.name, sc.fleet[0].trace_phase));
  x.edge.link.trace = a.trace;
  x.edge.link.uplink_rate = std::min(a.uplink.value, b.uplink.value);
  x.edge.link.downlink_rate = std::min(a.downlink.value, b.downlink.value);
  x.edge.link.delay = a.latency.value + b.latency.value;
  x.edge.wire = codec_spec(sc.codec, sys.plan);
  x.edge.sampling.temperature = 0;
  x.edge.steps = sc.workload.output_tokens.value;
  x.server.max_batch = sc.server.max_batch;
  x.server.batch_window = o.batch_window;
  x.prompt = make_prompt(sys.model, sc.workload.prompt_tokens.value, sc.seed);
  return x;
}

// o.reps repetitions of the scenario on the real executor (after one warm-up), and the figures of each.
std::vector<LocalRunResult> run_executor(const Weights& w, const ExecutorSetup& x, const Scenario& sc,
                                         const ValidateOptions& o, std::vector<Figures>& reps) {
  {  // warm-up: first-touch of the weights and the allocator's first growth, not part of any repetition
    EdgeOptions warm = x.edge;
    warm.steps = std::min<int64_t>(x.edge.steps, 2);
    run_local_split(w.edge, w.server, warm, x.server, 1, 1, x.prompt);
  }
  std::vector<LocalRunResult> runs;
  const int clients = static_cast<int>(sc.fleet[0].count);
  const int per_client = static_cast<int>(sc.workload.requests_per_device);
  for (int r = 0; r < o.reps; ++r) {
    LocalRunResult res = run_local_split(w.edge, w.server, x.edge, x.server, clients, per_client, x.prompt);
    if (!res.server_errors.empty()) throw std::runtime_error("executor server: " + res.server_errors.front());
    std::vector<RequestRecord> rows;
    for (const auto& e : res.requests) rows.push_back(e.record);
    reps.push_back(figures(rows, res.server.busy));
    if (!o.quiet)
      fmt::print(stderr, "  {} rep {}/{}: TPOT {} E2E {} (server mean batch {:.2f})\n", sc.name, r + 1, o.reps,
                 format_time(reps.back()["tpot_mean"]), format_time(reps.back()["e2e_mean"]),
                 res.server.batches ? double(res.server.steps) / double(res.server.batches) : 0.0);
    runs.push_back(std::move(res));
  }
  return runs;
}

// The simulator's system for what the executor did: the length it generated and the codec statistics of the
// blocks it sent. Returns the codec statistics' description.
nlohmann::json match_executor(System& sys, const Weights& w, const ExecutorSetup& x,
                              const std::vector<LocalRunResult>& runs, nlohmann::json& warnings, int64_t& produced) {
  const EdgeResult& first = runs.front().requests.front();
  produced = first.record.output_tokens;
  for (const auto& run : runs)
    for (const auto& e : run.requests)
      if (e.record.output_tokens != produced) {
        warnings.push_back(fmt::format("requests generated different lengths ({} and {}): greedy decoding should not",
                                       produced, e.record.output_tokens));
        produced = std::min(produced, e.record.output_tokens);
      }
  if (produced < 1) throw std::runtime_error("executor: a request generated no token (end of text at once)");
  auto& out = sys.scenario.workload.output_tokens.value;
  if (produced != out) {
    warnings.push_back(
        fmt::format("the model ended its text after {} of {} tokens; the simulation uses {}", produced, out, produced));
    out = produced;
  }
  const WireFormat wire = sys.plan.wire;
  if (wire != WireFormat::ts_tabq && wire != WireFormat::uniform) return nlohmann::json::object();
  double bits = 0, outl = 0;
  const int64_t mism = codec_statistics(w.edge, sys.plan, x.edge.wire, x.prompt, first, bits, outl);
  if (wire == WireFormat::ts_tabq) sys.codec_stats = {bits, outl};
  if (mism) warnings.push_back(fmt::format("{} replayed blocks differ in size from what the executor sent", mism));
  return {{"mean_bits", bits}, {"outliers_per_token", outl}, {"replayed_size_mismatches", mism},
          {"from", "the edge part replayed on request 0's prompt and tokens"}};
}

// One row per metric and stage: the executor's statistic over the repetitions against the simulator's figure.
std::vector<MetricRow> metric_rows(const std::vector<Figures>& reps, const Figures& simf, const ValidateOptions& o) {
  struct Def {
    std::string metric;
    const char* unit;
    const char* kind;
  };
  std::vector<Def> defs = {{"ttft_mean", "s", "metric"},    {"tpot_mean", "s", "target"}, {"tpot_p90", "s", "metric"},
                           {"e2e_mean", "s", "target"},     {"bytes_up", "B", "exact"},   {"bytes_down", "B", "exact"},
                           {"server_busy", "s", "metric"}};
  for (const RequestField* st : latency_stages()) defs.push_back({stage_metric(*st), "s", "stage"});
  std::vector<MetricRow> rows;
  for (const Def& d : defs) {
    MetricRow r{d.metric, d.unit, d.kind};
    std::vector<double> vals;
    for (const auto& f : reps) vals.push_back(f.at(d.metric));
    r.measured = o.stat == "median" ? median_of(vals) : *std::min_element(vals.begin(), vals.end());
    r.measured_min = *std::min_element(vals.begin(), vals.end());
    r.measured_max = *std::max_element(vals.begin(), vals.end());
    r.simulated = simf.at(d.metric);
    rows.push_back(r);
  }
  return rows;
}

}  // namespace

ScenarioValidation validate_scenario(const std::string& path, const ValidateOptions& o) {
  if (o.reps < 1) throw InputError(fmt::format("--reps: expected at least 1, got {}", o.reps));
  if (o.stat != "min" && o.stat != "median") throw InputError(fmt::format("--stat: expected min or median, got \"{}\"", o.stat));
  const Scenario sc = load_scenario(path, parse_overrides(o.sets));
  check_runnable(sc);
  System sys = resolve_system(sc);
  check_plan(sys);
  attach_tables(sys, o);
  const int clients = static_cast<int>(sc.fleet[0].count);

  ScenarioValidation v;
  v.scenario = sc.name;
  v.description = sc.description;
  v.clients = clients;
  nlohmann::json warnings = nlohmann::json::array();

  const Weights w = load_weights(sys, o.weights);
  const ExecutorSetup x = executor_setup(sys, o);
  std::vector<Figures> reps;
  const std::vector<LocalRunResult> runs = run_executor(w, x, sc, o, reps);
  int64_t produced = 0;
  const nlohmann::json codec_info = match_executor(sys, w, x, runs, warnings, produced);
  sys.scenario.server.batch_window = x.server.batch_window;  // the executor's gathering, an event of the simulation too
  const SimResult sim = simulate_isolated(sys);
  v.rows = metric_rows(reps, figures(sim.requests, sim.totals.server_busy), o);

  const EdgeResult& first = runs.front().requests.front();
  v.info = {
      {"scenario_file", path},
      {"system_hash", sys.hash()},
      {"system", sys.to_json()},
      {"executor",
       {{"weights", w.source},
        {"edge_weights_bytes", first.edge_weights_bytes},
        {"server_weights_bytes", first.server_weights_bytes},
        {"clients", clients},
        {"requests_per_client", sc.workload.requests_per_device},
        {"prompt_tokens", x.prompt.size()},
        {"output_tokens", produced},
        {"wire", x.edge.wire.to_json()},
        {"link",
         {{"uplink_Bps", x.edge.link.uplink_rate}, {"downlink_Bps", x.edge.link.downlink_rate}, {"delay_s", x.edge.link.delay}}},
        {"server", x.server.to_json()},
        {"reps", o.reps},
        {"stat", o.stat},
        {"server_mean_batch",
         runs.back().server.batches ? double(runs.back().server.steps) / double(runs.back().server.batches) : 0.0}}},
      {"calibration", sys.server.measured->to_json()},
      {"codec_statistics", codec_info},
      {"simulation", sim.info},
      {"warnings", warnings},
  };
  // Edge weights: the executor keeps the embedding in fp32 whatever the bits; the cost model quantizes it.
  v.info["edge_weights_cost_model_bytes"] = CostModel(sys).edge_memory(0).weights;
  nlohmann::json exec_rows = nlohmann::json::array();
  for (const auto& run : runs)
    for (const auto& e : run.requests) exec_rows.push_back(e.record.e2e);
  v.info["executor_e2e_all_reps"] = exec_rows;
  v.info["sim_requests"] = nlohmann::json::array();
  for (const auto& r : sim.requests) v.info["sim_requests"].push_back({{"ttft", r.ttft}, {"tpot", r.tpot}, {"e2e", r.e2e}});
  v.info["executor_last_rep_requests"] = nlohmann::json::array();
  for (const auto& e : runs.back().requests)
    v.info["executor_last_rep_requests"].push_back({{"ttft", e.record.ttft}, {"tpot", e.record.tpot}, {"e2e", e.record.e2e}});
  return v;
}

// ---------------------------------------------------------------------------------------------- aggregate

namespace {

void add_error(ErrorStats& s, const ScenarioValidation& sv, const MetricRow& r) {
  const double e = std::abs(r.rel_error());
  s.mean_abs += e;
  if (e >= s.worst_abs) s.worst_abs = e, s.worst_scenario = sv.scenario;
  const double spread = r.measured != 0 ? (r.measured_max - r.measured_min) / std::abs(r.measured) : 0.0;
  s.spread_mean += spread;
  s.spread_worst = std::max(s.spread_worst, spread);
  if (r.simulated >= r.measured_min && r.simulated <= r.measured_max) ++s.inside;
  ++s.n;
}

void finish(ErrorStats& s) {
  if (s.n) s.mean_abs /= static_cast<double>(s.n), s.spread_mean /= static_cast<double>(s.n);
}

}  // namespace

ErrorStats error_stats(const std::vector<ScenarioValidation>& v, const std::string& metric) {
  ErrorStats s;
  for (const auto& sv : v)
    if (const MetricRow* r = sv.row(metric)) add_error(s, sv, *r);
  finish(s);
  return s;
}

ErrorStats stage_error_stats(const std::vector<ScenarioValidation>& v, const std::string& stage) {
  ErrorStats s;
  for (const auto& sv : v) {
    const MetricRow *r = sv.row(stage), *e2e = sv.row("e2e_mean");
    if (r && e2e && e2e->measured > 0 && r->measured >= 0.05 * e2e->measured) add_error(s, sv, *r);
  }
  finish(s);
  return s;
}

ValidationVerdict validation_verdict(const std::vector<ScenarioValidation>& v) {
  ValidationVerdict out;
  const ErrorStats tp = error_stats(v, "tpot_mean"), ee = error_stats(v, "e2e_mean");
  auto within = [&](double mean, double worst) {
    return tp.mean_abs <= mean && ee.mean_abs <= mean && tp.worst_abs <= worst && ee.worst_abs <= worst;
  };
  bool exact = !v.empty();
  for (const auto& sv : v) exact = exact && bytes_exact(sv);
  out.targets = within(0.10, 0.20) && exact;
  out.tightened = within(0.05, 0.12);
  out.stages = error_stats(v, "server_busy").mean_abs <= 0.10;
  for (const RequestField* f : latency_stages()) {
    const ErrorStats st = stage_error_stats(v, stage_metric(*f));
    out.stages = out.stages && (st.n == 0 || (st.mean_abs <= 0.15 && st.worst_abs <= 0.30));
  }
  return out;
}

bool bytes_exact(const ScenarioValidation& v) {
  for (const char* k : {"bytes_up", "bytes_down"}) {
    const MetricRow* r = v.row(k);
    // Means per request of whole-byte counts: equal up to the rounding of a mean of a few hundred terms.
    if (!r || std::abs(r->simulated - r->measured) > 1e-6 * std::max(1.0, r->measured)) return false;
  }
  return true;
}

namespace {

std::string show(const MetricRow& r, double v) { return r.unit == "B" ? fmt::format("{:.1f} B", v) : format_time(v); }

void print_validation(const ScenarioValidation& v) {
  fmt::print("\n{} — {} client(s); executor {} of {} reps vs simulator\n", v.scenario, v.clients,
             v.info["executor"]["stat"].get<std::string>() == "min" ? "least-disturbed" : "median",
             v.info["executor"]["reps"].get<int>());
  if (!v.description.empty()) fmt::print("  {}\n", v.description);
  fmt::print("  {:<16} {:>12} {:>12} {:>9}   {}\n", "metric", "measured", "simulated", "rel.err", "measured range");
  for (const auto& r : v.rows) {
    if (r.kind == "stage" && &r == &*std::find_if(v.rows.begin(), v.rows.end(), [](const MetricRow& x) { return x.kind == "stage"; }))
      fmt::print("  stages per request (diagnostic):\n");
    fmt::print("  {:<16} {:>12} {:>12} {:>8.1f}%   {} .. {}{}\n", r.metric, show(r, r.measured), show(r, r.simulated),
               100 * r.rel_error(), show(r, r.measured_min), show(r, r.measured_max),
               r.kind == "exact" ? (std::abs(r.simulated - r.measured) <= 1e-6 * std::max(1.0, r.measured) ? "  exact" : "  NOT EXACT")
                                 : "");
  }
  for (const auto& wmsg : v.info["warnings"]) fmt::print("  warning: {}\n", wmsg.get<std::string>());
}

void add_rows(CsvTable& t, const ScenarioValidation& v) {
  for (const auto& r : v.rows)
    t.row().add(v.scenario).add(v.clients).add(r.metric).add(r.kind).add(r.unit).add(r.measured).add(r.simulated)
        .add(r.rel_error()).add(r.measured_min).add(r.measured_max).add(static_cast<int64_t>(v.info["executor"]["reps"].get<int>()));
}

const std::vector<std::string> kColumns = {"scenario", "clients", "metric", "kind", "unit", "measured", "simulated",
                                           "rel_error", "measured_min", "measured_max", "reps"};

// Calibrates what `paths` need (models, bit-widths, codecs)
// into `file` and returns its path.
std::string calibrate_for(const std::vector<std::string>& paths, const ValidateOptions& o, const std::string& file) {
  ExecCalibrationOptions co;
  co.models.clear();
  co.bits.clear();
  co.codecs.clear();
  co.quick = o.quick_calibration;
  co.progress = !o.quiet;
  auto add = [](auto& v, const auto& x) {
    if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
  };
  for (const auto& path : paths) {
    const System sys = resolve_system(load_scenario(path, parse_overrides(o.sets)));
    add(co.models, sys.model.name);
    add(co.bits, static_cast<int>(sys.plan.edge_bits));
    add(co.bits, static_cast<int>(sys.plan.cloud_bits));
    add(co.codecs, wire_format_name(sys.plan.wire));
  }
  const std::filesystem::path f(file);
  if (f.has_parent_path()) std::filesystem::create_directories(f.parent_path());
  std::string cmd = o.calibrate_each ? "splitsim validate --calibrate-each" : "splitsim validate --calibrate";
  if (co.quick) cmd += " --quick-calibration";
  if (!o.quiet)
    fmt::print(stderr, "validate: calibrating {} model(s) x {} bit-width(s) first\n", co.models.size(), co.bits.size());
  std::filesystem::remove(file);
  write_executor_calibration(file, calibrate_executor(co, cmd));
  return file;
}

}  // namespace

std::vector<ScenarioValidation> run_validate(const ValidateOptions& in) {
  if (in.scenarios.empty()) throw InputError("validate: expected at least one scenario file");
  ValidateOptions o = in;
  if (o.calibrate && o.calibrate_each) throw InputError("--calibrate and --calibrate-each: give one of them");
  if ((o.calibrate || o.calibrate_each) && !o.calibration.empty())
    throw InputError("--calibrate/--calibrate-each and --calibration: give one of them");
  if (o.calibrate) o.calibration = calibrate_for(o.scenarios, o, o.out + "/calibration.toml");
  std::vector<ScenarioValidation> all;
  CsvTable combined(kColumns);
  for (const auto& path : o.scenarios) {
    if (!o.quiet) fmt::print(stderr, "validate: {}\n", path);
    ValidateOptions so = o;
    if (o.calibrate_each)  // this scenario's tables only, measured just before its runs
      so.calibration = calibrate_for({path}, o, o.out + "/calibration-" + std::filesystem::path(path).stem().string() + ".toml");
    ScenarioValidation v = validate_scenario(path, so);
    const std::string dir = o.out + "/" + v.scenario;
    std::filesystem::create_directories(dir);
    CsvTable t(kColumns);
    add_rows(t, v);
    add_rows(combined, v);
    t.write(dir + "/validation.csv");
    nlohmann::json j = v.info;
    j["rows"] = nlohmann::json::array();
    for (const auto& r : v.rows)
      j["rows"].push_back({{"metric", r.metric}, {"kind", r.kind}, {"measured", r.measured}, {"simulated", r.simulated},
                           {"rel_error", r.rel_error()}});
    write_json_atomic(dir + "/validation.json", j);
    print_validation(v);
    all.push_back(std::move(v));
  }
  std::filesystem::create_directories(o.out);
  combined.write(o.out + "/validation.csv");
  fmt::print("\nover {} scenario(s) (|relative error|, simulated vs measured; spread: the executor's repetitions, "
             "(max - min) / measured):\n", all.size());
  auto line = [](const std::string& m, const ErrorStats& s) {
    fmt::print("  {:<16} mean {:5.1f}%  worst {:5.1f}% ({})   spread mean {:.1f}% worst {:.1f}%, simulated inside the "
               "measured range in {} of {}\n",
               m, 100 * s.mean_abs, 100 * s.worst_abs, s.worst_scenario, 100 * s.spread_mean, 100 * s.spread_worst,
               s.inside, s.n);
  };
  for (const char* m : {"ttft_mean", "tpot_mean", "tpot_p90", "e2e_mean", "server_busy"}) line(m, error_stats(all, m));
  fmt::print("  stages where they take >= 5% of end-to-end:\n");
  for (const RequestField* f : latency_stages())
    if (const ErrorStats st = stage_error_stats(all, stage_metric(*f)); st.n > 0) line(stage_metric(*f), st);
  int64_t exact = 0;
  for (const auto& v : all) exact += bytes_exact(v) ? 1 : 0;
  const ValidationVerdict verdict = validation_verdict(all);
  fmt::print("  bytes on the wire exact in {} of {} scenario(s)\n", exact, all.size());
  fmt::print("targets (TPOT and E2E mean |error| <= 10%, worst <= 20%, bytes exact): {}\n", verdict.targets ? "MET" : "NOT MET");
  fmt::print("tightened targets (TPOT and E2E mean <= 5%, worst <= 12%): {}\n", verdict.tightened ? "MET" : "NOT MET");
  fmt::print("stage targets (each stage >= 5% of E2E: mean <= 15%, worst <= 30%; server busy mean <= 10%): {}\n",
             verdict.stages ? "MET" : "NOT MET");
  fmt::print("wrote {}/validation.csv\n", o.out);
  return all;
}

}  // namespace splitsim
