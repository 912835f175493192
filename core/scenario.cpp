#include "core/scenario.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <thread>

#include "core/error.hpp"
#include "core/names.hpp"
#include "core/strategy.hpp"

namespace splitsim {

const std::vector<std::string>& router_names() {
  static const std::vector<std::string> names = {"round-robin", "least-outstanding", "kv-aware", "cell-affinity"};
  return names;
}
namespace {

constexpr int64_t kMaxTokens = 1 << 20;
const std::vector<std::string> kDists = {"fixed", "uniform", "lognormal"};

LengthDist read_length(const TomlReader& r, const std::string& key, int64_t fallback) {
  LengthDist d;
  if (!r.has(key)) {
    d.value = fallback;
    return d;
  }
  if (r.is_table(key)) {
    auto t = r.table(key);
    d.kind = t.choice("dist", kDists);
    if (d.kind == "fixed") {
      d.value = t.integer("value", 1, kMaxTokens);
    } else {
      d.min = t.integer_or("min", 1, kMaxTokens, 1);
      d.max = t.integer("max", d.min, kMaxTokens);
      if (d.kind == "lognormal") {
        d.mu = t.number("mu", -50, 50);
        d.sigma = t.number("sigma", 0, 10);
      }
    }
    return d;
  }
  d.value = r.integer(key, 1, kMaxTokens);
  return d;
}

nlohmann::json length_json(const LengthDist& d) {
  if (d.kind == "fixed") return d.value;
  if (d.kind == "trace") return {{"dist", "trace"}, {"min", d.min}, {"max", d.max}, {"mean", d.trace_mean}};
  nlohmann::json j{{"dist", d.kind}, {"min", d.min}, {"max", d.max}};
  if (d.kind == "lognormal") {
    j["mu"] = d.mu;
    j["sigma"] = d.sigma;
  }
  return j;
}

int64_t read_count(const TomlReader& r) { return r.integer("count", 1, 10'000'000); }
std::string read_power_mode(const TomlReader& r) {
  const std::string m = r.str_or("power_mode", "");
  if (!m.empty() && !name_problem(m).empty()) r.fail("power_mode", name_rule(), quoted_input(m));
  return m;
}

int64_t read_bits(const TomlReader& sp, const char* key, int64_t fallback, std::vector<int64_t> allowed) {
  if (!sp.has(key)) return fallback;
  int64_t b = sp.integer(key, 1, 32);
  for (auto a : allowed)
    if (a == b) return b;
  std::string list;
  for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::to_string(a);
  sp.fail(key, "one of " + list, std::to_string(b));
}

// 32 = fp32 (the executor's unquantized weights; core/formats/weight_format.hpp sizes it at 4 bytes).
const std::vector<int64_t> kWeightBits = {2, 3, 4, 8, 16, 32};

const ScenarioKnob kKnobs[] = {
    {"split.strategy", [](const TomlReader& t, Scenario& s) { s.split.strategy = t.choice_or("strategy", strategy_names(), s.split.strategy); },
     [](const Scenario& f, Scenario& s) { s.split.strategy = f.split.strategy; }},
    {"split.layer", [](const TomlReader& t, Scenario& s) { s.split.layer = t.integer_or("layer", 0, 100000, s.split.layer); },
     [](const Scenario& f, Scenario& s) { s.split.layer = f.split.layer; }},
    {"split.schedule", [](const TomlReader& t, Scenario& s) { s.split.schedule = t.str_or("schedule", s.split.schedule); },
     [](const Scenario& f, Scenario& s) { s.split.schedule = f.split.schedule; }},
    {"split.react_rate", [](const TomlReader& t, Scenario& s) { s.split.react_rate = t.quantity_or("react_rate", Dim::data_rate, s.split.react_rate); },
     [](const Scenario& f, Scenario& s) { s.split.react_rate = f.split.react_rate; }},
    {"split.react_window", [](const TomlReader& t, Scenario& s) { s.split.react_window = t.integer_or("react_window", 1, SplitReaction::kMaxWindow, s.split.react_window); },
     [](const Scenario& f, Scenario& s) { s.split.react_window = f.split.react_window; }},
    {"split.edge_bits", [](const TomlReader& t, Scenario& s) { s.split.edge_bits = read_bits(t, "edge_bits", s.split.edge_bits, kWeightBits); },
     [](const Scenario& f, Scenario& s) { s.split.edge_bits = f.split.edge_bits; }},
    {"split.cloud_bits", [](const TomlReader& t, Scenario& s) { s.split.cloud_bits = read_bits(t, "cloud_bits", s.split.cloud_bits, kWeightBits); },
     [](const Scenario& f, Scenario& s) { s.split.cloud_bits = f.split.cloud_bits; }},
    {"split.kv_bits", [](const TomlReader& t, Scenario& s) { s.split.kv_bits = read_bits(t, "kv_bits", s.split.kv_bits, {4, 8, 16}); },
     [](const Scenario& f, Scenario& s) { s.split.kv_bits = f.split.kv_bits; }},
    {"split.group_size", [](const TomlReader& t, Scenario& s) { s.split.group_size = t.integer_or("group_size", 8, 65536, s.split.group_size); },
     [](const Scenario& f, Scenario& s) { s.split.group_size = f.split.group_size; }},
    {"codec.ts_mode",
     [](const TomlReader& t, Scenario& s) {
       if (!t.has("ts_mode")) return;
       const std::string v = t.str("ts_mode");
       if (!ts_mode_from_name(v)) t.fail("ts_mode", "one of " + ts_mode_names(), quoted_input(v));
       s.codec.ts_mode = v;
     },
     [](const Scenario& f, Scenario& s) { s.codec.ts_mode = f.codec.ts_mode; }},
    {"codec.ts_threshold", [](const TomlReader& t, Scenario& s) { s.codec.ts_threshold = t.number_or("ts_threshold", 0, 1e30, s.codec.ts_threshold); },
     [](const Scenario& f, Scenario& s) { s.codec.ts_threshold = f.codec.ts_threshold; }},
    {"codec.tabq_eps", [](const TomlReader& t, Scenario& s) { s.codec.tabq_eps = t.number_or("tabq_eps", 1e-12, 1, s.codec.tabq_eps); },
     [](const Scenario& f, Scenario& s) { s.codec.tabq_eps = f.codec.tabq_eps; }},
    {"codec.tabq_bits", [](const TomlReader& t, Scenario& s) { s.codec.tabq_bits = t.int_list_or("tabq_bits", 1, 16, s.codec.tabq_bits); },
     [](const Scenario& f, Scenario& s) { s.codec.tabq_bits = f.codec.tabq_bits; }},
    {"codec.uniform_bits", [](const TomlReader& t, Scenario& s) { s.codec.uniform_bits = t.integer_or("uniform_bits", 1, 16, s.codec.uniform_bits); },
     [](const Scenario& f, Scenario& s) { s.codec.uniform_bits = f.codec.uniform_bits; }},
    {"workload.max_seq_len", [](const TomlReader& t, Scenario& s) { s.workload.max_seq_len = t.integer_or("max_seq_len", 1, kMaxTokens, s.workload.max_seq_len); },
     [](const Scenario& f, Scenario& s) {
       if (s.workload.max_seq_len == f.workload.max_seq_len) return;
       s.workload.max_seq_len = f.workload.max_seq_len;
       // A trace's clipping and dropping depend on it: select again (one pass over the trace, per changed value).
       if (s.workload.arrival == "trace") select_trace(s.workload);
     }},
    {"edge.count",
     [](const TomlReader& t, Scenario& s) {
       if (!t.has("count")) return;
       s.fleet.resize(std::max<size_t>(s.fleet.size(), 1));
       s.fleet[0].count = read_count(t);
     },
     [](const Scenario& f, Scenario& s) {
       if (s.fleet.size() != 1) throw InputError("--set edge.count: the scenario has several device groups");
       s.fleet[0].count = f.fleet.at(0).count;
     }},
    {"server.profile", [](const TomlReader& t, Scenario& s) { s.server.profile = t.str_or("profile", s.server.profile); },
     [](const Scenario& f, Scenario& s) {
       if (s.server.groups.size() != 1) throw InputError("--set server.profile: the scenario has several server groups");
       s.server.profile = s.server.groups[0].profile = f.server.profile;
     }},
    {"edge.power_mode",
     [](const TomlReader& t, Scenario& s) {
       if (!t.has("power_mode")) return;
       s.fleet.resize(std::max<size_t>(s.fleet.size(), 1));
       s.fleet[0].power_mode = read_power_mode(t);
     },
     [](const Scenario& f, Scenario& s) {
       if (s.fleet.size() != 1) throw InputError("--set edge.power_mode: the scenario has several device groups");
       s.fleet[0].power_mode = f.fleet.at(0).power_mode;
     }},
    {"server.max_batch", [](const TomlReader& t, Scenario& s) { s.server.max_batch = t.integer_or("max_batch", 1, 65536, s.server.max_batch); },
     [](const Scenario& f, Scenario& s) { s.server.max_batch = f.server.max_batch; }},
    {"server.count", [](const TomlReader& t, Scenario& s) { s.server.count = t.integer_or("count", 1, 100'000, s.server.count); },
     [](const Scenario& f, Scenario& s) {
       if (s.server.groups.size() != 1) throw InputError("--set server.count: the scenario has several server groups");
       s.server.count = s.server.groups[0].count = f.server.count;
     }},
};

// Reads the knobs of [table] in table order.
void read_knobs(const TomlReader& t, std::string_view table, Scenario& s) {
  for (const auto& k : kKnobs)
    if (std::string_view(k.key).substr(0, table.size() + 1) == std::string(table) + ".") k.read(t, s);
}

DeviceGroup read_group(const TomlReader& r, const std::string& name) {
  DeviceGroup g;
  g.name = r.str_or("name", name);
  g.profile = r.str("profile");
  g.link = r.str("link");
  g.count = read_count(r);
  g.cell_size = r.integer_or("cell_size", 0, 10'000'000, 0);
  if (g.cell_size > g.count)
    r.fail("cell_size", fmt::format("at most the group's device count ({})", g.count), std::to_string(g.cell_size));
  g.power_mode = read_power_mode(r);
  g.battery = r.quantity_or("battery", Dim::energy, 0);
  g.trace_phase = r.choice_or("trace_phase", {"random", "aligned"}, g.trace_phase);
  return g;
}

}  // namespace

double LengthDist::mean() const {
  if (kind == "fixed") return static_cast<double>(value);
  if (kind == "trace") return trace_mean;
  if (kind == "uniform") return 0.5 * static_cast<double>(min + max);
  double m = std::exp(mu + 0.5 * sigma * sigma);
  return std::clamp(m, static_cast<double>(min), static_cast<double>(max));
}

int64_t ServerConfig::server_count() const {
  int64_t n = 0;
  for (const auto& g : groups) n += g.count;
  return std::max<int64_t>(n, 1);
}

int64_t Scenario::device_count() const {
  int64_t n = 0;
  for (const auto& g : fleet) n += g.count;
  return n;
}

std::string Scenario::where(const std::string& key) const {
  for (const auto& o : overridden)
    if (o == key || key.rfind(o + ".", 0) == 0) return origin + " (--set)";
  return origin;
}

std::string data_dir() {
  if (const char* d = std::getenv("SPLITSIM_DATA_DIR"); d && *d) return d;
  return SPLITSIM_SOURCE_DIR;
}

namespace {

// A trace workload: the trace file (beside the scenario, or from the repository root), which part of it is
// replayed and how, and the lengths it gives (their bounds and mean, for the checks and the analytic model).
void read_trace_workload(const TomlReader& w, const std::string& origin, Scenario& s) {
  Workload& wl = s.workload;
  for (const char* k : {"prompt_tokens", "output_tokens", "requests_per_device", "think_time"})
    if (w.has(k)) w.fail(k, "nothing with arrival = \"trace\" (the trace gives every request)", "a value");
  TraceReplay& t = wl.trace;
  t.path = w.str("trace");
  std::string file = t.path;
  if (std::filesystem::path(file).is_relative()) {
    const auto beside = std::filesystem::path(origin).parent_path() / file;
    file = std::filesystem::exists(beside) ? beside.string() : data_dir() + "/" + t.path;
  }
  if (!std::filesystem::exists(file)) w.fail("trace", "a trace file (beside the scenario or under the repository)", quoted_input(t.path));
  t.format = w.choice_or("trace_format", {"azure", "generic"}, t.format);
  t.time_scale = w.number_or("time_scale", 1e-6, 1e6, t.time_scale);
  if (w.has("window")) {
    const auto win = w.int_list("window", 0, 1'000'000'000);
    if (win.size() != 2 || win[0] >= win[1])
      w.fail("window", "[start_s, end_s] with start < end, seconds of trace time",
             win.size() == 2 ? fmt::format("[{}, {}]", win[0], win[1]) : fmt::format("{} values", win.size()));
    t.window_start = static_cast<double>(win[0]);
    t.window_end = static_cast<double>(win[1]);
  }
  t.device_map = w.choice_or("device_map", {"round-robin", "random", "thin"}, t.device_map);
  if (t.device_map == "thin") {
    wl.rate = w.quantity("rate", Dim::frequency);
    if (wl.rate <= 0) w.fail("rate", "a positive rate per device like \"0.01/s\" (device_map = \"thin\")", "0");
  }
  t.too_long = w.choice_or("too_long", {"clip", "drop"}, t.too_long);
  read_knobs(w, "workload", s);
  t.data = std::make_shared<const RequestTrace>(read_request_trace(file, t.format));
  select_trace(wl);
  if (t.selected.requests.empty())
    w.fail("window", fmt::format("a window holding requests of {}", t.path),
           fmt::format("[{}, {}) s with none", t.window_start, t.window_end));
}

}  // namespace

void select_trace(Workload& wl) {
  TraceReplay& t = wl.trace;
  t.selected = select_requests(*t.data, t.window_start, t.window_end, t.time_scale, t.too_long, wl.max_seq_len);
  LengthDist p{"trace"}, o{"trace"};
  p.min = o.min = kMaxTokens;
  double sp = 0, so = 0;
  for (const auto& r : t.selected.requests) {
    p.min = std::min(p.min, r.prompt), p.max = std::max(p.max, r.prompt), sp += static_cast<double>(r.prompt);
    o.min = std::min(o.min, r.output), o.max = std::max(o.max, r.output), so += static_cast<double>(r.output);
  }
  const double n = std::max<double>(1, static_cast<double>(t.selected.requests.size()));
  p.trace_mean = sp / n, o.trace_mean = so / n;
  wl.prompt_tokens = p;
  wl.output_tokens = o;
}

Scenario scenario_from_source(const std::shared_ptr<TomlSource>& src) {
  TomlReader r(src);
  Scenario s;
  s.origin = src->origin;
  s.overridden.assign(src->overridden.begin(), src->overridden.end());
  s.name = r.str_or("name", std::filesystem::path(src->origin).stem().string());
  if (!name_problem(s.name).empty())
    r.fail("name", name_rule() + " (it names the results folder)", quoted_input(s.name));
  s.description = r.str_or("description", "");
  s.seed = static_cast<uint64_t>(r.integer_or("seed", 0, std::numeric_limits<int64_t>::max(), 1));
  s.model = r.str("model");

  // Fleet: either [edge] with profile/link/count (one group) or [[edge.groups]].
  TomlReader edge = r.table("edge");
  if (edge.has("groups")) {
    for (const auto& g : edge.tables("groups")) s.fleet.push_back(read_group(g, fmt::format("group{}", s.fleet.size())));
  } else {
    s.fleet.push_back(read_group(edge, "edge"));
  }

  std::string server_link;  // [server] link = ...: the single group's (see ServerGroupConfig::link)
  if (auto sv = r.table_opt("server")) {
    s.server.backbone = sv->str_or("backbone", s.server.backbone);
    s.server.router = sv->choice_or("router", router_names(), s.server.router);
    s.server.batch_window = sv->quantity_or("batch_window", Dim::time, 0);
    if (s.server.batch_window > 10) sv->fail("batch_window", "a duration of at most 10 s", fmt::format("{} s", s.server.batch_window));
    s.server.session_timeout = sv->quantity_or("session_timeout", Dim::time, s.server.session_timeout);
    if (!(s.server.session_timeout > 0 && s.server.session_timeout <= 1e6))
      sv->fail("session_timeout", "a duration in (0, 1e6 s]", fmt::format("{} s", s.server.session_timeout));
    if (sv->has("groups")) {
      for (const auto& g : sv->tables("groups")) {
        ServerGroupConfig c;
        c.name = g.str_or("name", fmt::format("servers{}", s.server.groups.size()));
        if (!name_problem(c.name).empty()) g.fail("name", name_rule(), quoted_input(c.name));
        c.profile = g.str("profile");
        c.count = g.integer_or("count", 1, 100'000, 1);
        c.max_batch = g.integer_or("max_batch", 1, 65536, c.max_batch);
        c.kv_memory = g.quantity_or("kv_memory", Dim::bytes, 0);
        c.link = g.str_or("link", "");
        c.cloud_bits = read_bits(g, "cloud_bits", 0, kWeightBits);
        if (s.server.groups.empty() && c.cloud_bits > 0)
          g.fail("cloud_bits", "no override on the first group (split.cloud_bits is its precision; give cloud_bits to "
                 "the others)", std::to_string(c.cloud_bits));
        s.server.groups.push_back(c);
      }
      for (const char* k : {"profile", "max_batch", "kv_memory", "count", "link"})
        if (sv->has(k)) sv->fail(k, "nothing beside [[server.groups]] (give it per group)", "a value");
      s.server.profile = s.server.groups[0].profile;
      s.server.max_batch = s.server.groups[0].max_batch;
      s.server.kv_memory = s.server.groups[0].kv_memory;
    } else {
      read_knobs(*sv, "server", s);
      s.server.kv_memory = sv->quantity_or("kv_memory", Dim::bytes, 0);
      server_link = sv->str_or("link", "");
    }
    if (sv->has("shared_cores")) {
      if (sv->is_string("shared_cores")) {
        const std::string v = sv->str("shared_cores");
        if (v != "auto") sv->fail("shared_cores", "\"auto\" or a core count in 0..4096", "\"" + v + "\"");
        s.server.shared_cores = std::max<int64_t>(1, std::thread::hardware_concurrency());
      } else {
        s.server.shared_cores = sv->integer("shared_cores", 0, 4096);
      }
    }
  }

  if (s.server.groups.empty())
    s.server.groups.push_back({"server", s.server.profile, s.server.count, s.server.max_batch, s.server.kv_memory, server_link});
  if (s.server.server_count() > 1 && s.server.shared_cores > 0)
    throw_input(s.where("server.shared_cores"), "server.shared_cores", "0 with a pool of servers (one machine is one server)",
                std::to_string(s.server.shared_cores));
  TomlReader sp = r.table("split");
  read_knobs(sp, "split", s);

  if (auto c = r.table_opt("codec")) {
    read_knobs(*c, "codec", s);
    if (auto p = cross_key_problem(s); p && p->key == "codec.ts_threshold") c->fail("ts_threshold", p->expected, p->got);
    s.codec.expected.mean_bits = c->number_or("mean_bits", 0.5, 32, s.codec.expected.mean_bits);
    s.codec.expected.outliers_per_token =
        c->number_or("outliers_per_token", 0, 1e6, s.codec.expected.outliers_per_token);
  }

  TomlReader w = r.table("workload");
  s.workload.arrival = w.choice_or("arrival", {"closed", "poisson", "trace"}, s.workload.arrival);
  if (s.workload.arrival == "trace") {
    read_trace_workload(w, src->origin, s);
    r.expect_all_used();
    return s;
  }
  s.workload.think_time = w.quantity_or("think_time", Dim::time, 0);
  if (s.workload.arrival == "poisson") {
    s.workload.rate = w.quantity("rate", Dim::frequency);
    if (s.workload.rate <= 0) w.fail("rate", "a positive rate like \"0.5/s\"", "0");
  }
  s.workload.requests_per_device = w.integer_or("requests_per_device", 1, 1'000'000, s.workload.requests_per_device);
  s.workload.prompt_tokens = read_length(w, "prompt_tokens", 128);
  s.workload.output_tokens = read_length(w, "output_tokens", 128);
  read_knobs(w, "workload", s);
  if (auto p = cross_key_problem(s); p && p->key == "workload.max_seq_len") w.fail("max_seq_len", p->expected, p->got);

  r.expect_all_used();
  return s;
}

std::span<const ScenarioKnob> scenario_knobs() { return kKnobs; }

const ScenarioKnob* find_knob(std::string_view key) {
  for (const auto& k : kKnobs)
    if (key == k.key) return &k;
  return nullptr;
}

std::optional<KeyProblem> cross_key_problem(const Scenario& s) {
  if (ts_mode_from_name(s.codec.ts_mode) == TsMode::percentile && s.codec.ts_threshold >= 1)
    return KeyProblem{"codec.ts_threshold", "a fraction in [0, 1) for ts_mode = \"percentile\"",
                      fmt::format("{}", s.codec.ts_threshold)};
  const int64_t longest = s.workload.prompt_tokens.upper_bound() + s.workload.output_tokens.upper_bound();
  // A trace's requests are clipped or dropped one by one (workload.trace.too_long); none may be left.
  if (s.workload.arrival == "trace" && s.workload.trace.selected.requests.empty())
    return KeyProblem{"workload.max_seq_len", "a length that leaves requests of the trace to replay",
                      std::to_string(s.workload.max_seq_len)};
  if (s.workload.arrival != "trace" && longest > s.workload.max_seq_len)
    return KeyProblem{"workload.max_seq_len", fmt::format("at least prompt + output tokens ({})", longest),
                      std::to_string(s.workload.max_seq_len)};
  return std::nullopt;
}

Scenario load_scenario(const std::string& path, const std::vector<Override>& overrides) {
  auto src = parse_toml_file(path);
  apply_single_overrides(*src, overrides);
  return scenario_from_source(src);
}

nlohmann::json Scenario::to_json() const {
  nlohmann::json fleet_j = nlohmann::json::array();
  for (const auto& g : fleet) {
    fleet_j.push_back({{"name", g.name}, {"profile", g.profile}, {"link", g.link}, {"count", g.count},
                       {"cell_size", g.cell_size}});
    if (!g.power_mode.empty()) fleet_j.back()["power_mode"] = g.power_mode;  // absent: as before
    if (g.battery > 0) fleet_j.back()["battery_j"] = g.battery;
    if (g.trace_phase != "random") fleet_j.back()["trace_phase"] = g.trace_phase;
  }
  nlohmann::json j = {
      {"name", name},
      {"description", description},
      {"seed", seed},
      {"model", model},
      {"edge", {{"groups", fleet_j}}},
      {"server",
       {{"profile", server.profile}, {"backbone", server.backbone}, {"max_batch", server.max_batch},
        {"kv_memory", server.kv_memory}, {"shared_cores", server.shared_cores}}},
      {"split",
       {{"strategy", split.strategy}, {"layer", split.layer}, {"edge_bits", split.edge_bits},
        {"cloud_bits", split.cloud_bits}, {"kv_bits", split.kv_bits}, {"group_size", split.group_size}}},
      {"codec",
       {{"ts_mode", codec.ts_mode}, {"ts_threshold", codec.ts_threshold}, {"tabq_eps", codec.tabq_eps},
        {"tabq_bits", codec.tabq_bits}, {"uniform_bits", codec.uniform_bits}, {"mean_bits", codec.expected.mean_bits},
        {"outliers_per_token", codec.expected.outliers_per_token}}},
      {"workload",
       {{"arrival", workload.arrival}, {"think_time", workload.think_time}, {"rate", workload.rate},
        {"requests_per_device", workload.requests_per_device}, {"prompt_tokens", length_json(workload.prompt_tokens)},
        {"output_tokens", length_json(workload.output_tokens)}, {"max_seq_len", workload.max_seq_len}}},
  };
  if (server.batch_window > 0) j["server"]["batch_window"] = server.batch_window;  // absent: as before
  if (server.session_timeout != 120) j["server"]["session_timeout"] = server.session_timeout;  // absent: the default
  if (!split.schedule.empty()) j["split"]["schedule"] = split.schedule;            // absent: as before
  if (split.react_rate > 0)
    j["split"]["react_rate"] = split.react_rate, j["split"]["react_window"] = split.react_window;  // absent: as before
  const bool hop = std::any_of(server.groups.begin(), server.groups.end(), [](const auto& g) { return !g.link.empty(); });
  if (server.groups.size() > 1 || server.server_count() > 1 || hop) {  // a pool; a single server is written as before
    nlohmann::json groups = nlohmann::json::array();
    for (const auto& g : server.groups) {
      groups.push_back({{"name", g.name}, {"profile", g.profile}, {"count", g.count}, {"max_batch", g.max_batch},
                        {"kv_memory", g.kv_memory}});
      if (!g.link.empty()) groups.back()["link"] = g.link;
      if (g.cloud_bits > 0) groups.back()["cloud_bits"] = g.cloud_bits;
    }
    j["server"]["groups"] = groups;
    j["server"]["router"] = server.router;
  }
  if (workload.arrival == "trace") {
    const TraceReplay& t = workload.trace;
    j["workload"]["trace"] = {{"path", t.path},
                              {"content_hash", t.data ? t.data->content_hash : ""},
                              {"format", t.format},
                              {"time_scale", t.time_scale},
                              {"window_s", {t.window_start, t.window_end}},
                              {"device_map", t.device_map},
                              {"too_long", t.too_long},
                              {"requests", t.selected.requests.size()},
                              {"in_window", t.selected.in_window},
                              {"clipped", t.selected.clipped},
                              {"dropped", t.selected.dropped}};
  }
  return j;
}

}  // namespace splitsim
