// Published measurements against the device profiles' cost model (published.hpp).
#include "explorer/published.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "core/error.hpp"
#include "core/output.hpp"
#include "core/scenario.hpp"
#include "core/toml_reader.hpp"
#include "explorer/csv_read.hpp"
#include "explorer/plot.hpp"
#include "hwprofiles/cost_model.hpp"
#include "models/model_spec.hpp"

namespace splitsim {

namespace {

const std::vector<std::string> kColumns = {"id",         "device", "device_note", "model",      "model_note",
                                           "software",   "quant",  "weight_bits", "group_size", "batch",
                                           "context",    "metric", "value",       "unit",       "source_url",
                                           "source_locator", "role"};

[[noreturn]] void bad(const std::string& origin, const std::string& column, const std::string& expected,
                      const std::string& got) {
  throw InputError(fmt::format("{}: {}: expected {}, got \"{}\"", origin, column, expected, got));
}

double positive(const std::string& origin, const std::string& column, const std::string& text) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    bad(origin, column, "a positive number", text);
  }
  if (used != text.size() || !std::isfinite(v) || v <= 0) bad(origin, column, "a positive number", text);
  return v;
}

int64_t count(const std::string& origin, const std::string& column, const std::string& text) {
  const double v = positive(origin, column, text);
  if (v != std::floor(v) || v > 1e7) bad(origin, column, "a whole number in [1, 10^7]", text);
  return static_cast<int64_t>(v);
}

// The OPSC width and group size that store as many bytes as `weight_bits` per weight (a 4-byte header per group).
std::pair<int, int> opsc_format(double weight_bits) {
  if (weight_bits >= 16) return {16, 128};
  const int bits = weight_bits >= 8 ? 8 : (weight_bits >= 4 ? 4 : (weight_bits >= 3 ? 3 : 2));
  const double header_bits = weight_bits - bits;
  const int group = header_bits > 0 ? std::max(1, static_cast<int>(std::lround(32.0 / header_bits))) : 1 << 20;
  return {bits, group};
}

std::string scenario_text(const PublishedPoint& p, int bits, int group, int64_t max_seq) {
  return fmt::format(R"(name = "published-{}"
model = "{}"
[edge]
profile = "jetson-xavier-nx"
link = "ethernet-10g"
count = 1
[server]
profile = "{}"
backbone = "ethernet-10g"
max_batch = {}
[split]
strategy = "cloud-only"
cloud_bits = {}
kv_bits = 16
group_size = {}
[workload]
prompt_tokens = 1
output_tokens = 1
max_seq_len = {}
)",
                     p.id, p.model, p.device, p.batch, bits, group, max_seq);
}

}  // namespace

std::vector<PublishedPoint> read_published(const std::string& path) {
  const CsvData csv = read_csv(path);
  for (const std::string& c : kColumns)
    if (csv.column(c) < 0) bad(path + ": line 1", c, "a column of the published-points format", "missing");
  if (csv.header.size() != kColumns.size())
    throw InputError(fmt::format("{}: line 1: expected the {} columns {}, got {}", path, kColumns.size(),
                                 fmt::join(kColumns, ","), fmt::join(csv.header, ",")));
  std::vector<PublishedPoint> out;
  std::set<std::string> ids;
  for (size_t r = 0; r < csv.rows.size(); ++r) {
    auto row = csv.row_map(r);
    PublishedPoint p;
    p.origin = fmt::format("{}: line {}", path, r + 2);
    p.id = row["id"];
    if (p.id.empty() || !ids.insert(p.id).second) bad(p.origin, "id", "a unique id", p.id);
    p.device = row["device"];
    p.device_note = row["device_note"];
    p.model = row["model"];
    p.model_note = row["model_note"];
    p.software = row["software"];
    p.quant = row["quant"];
    p.weight_bits = positive(p.origin, "weight_bits", row["weight_bits"]);
    if (p.weight_bits < 2 || p.weight_bits > 16) bad(p.origin, "weight_bits", "bits per weight in [2, 16]", row["weight_bits"]);
    p.batch = count(p.origin, "batch", row["batch"]);
    p.context = count(p.origin, "context", row["context"]);
    p.metric = row["metric"];
    if (p.metric != "decode_tps" && p.metric != "prefill_tps") bad(p.origin, "metric", "decode_tps or prefill_tps", p.metric);
    p.value = positive(p.origin, "value", row["value"]);
    if (row["unit"] != "tokens/s") bad(p.origin, "unit", "tokens/s", row["unit"]);
    p.source_url = row["source_url"];
    p.source_locator = row["source_locator"];
    if (p.source_url.empty() || p.source_locator.empty())
      bad(p.origin, "source_url", "a source and where in it the number stands", p.source_url);
    p.role = row["role"];
    if (p.role != "fit" && p.role != "held-out") bad(p.origin, "role", "fit or held-out", p.role);
    out.push_back(std::move(p));
  }
  if (out.empty()) throw InputError(fmt::format("{}: expected at least one published point, got none", path));
  return out;
}

namespace {

// The point's system: the whole model alone on the point's device, costed from the profile's roofline.
System point_system(const PublishedPoint& p, int bits, int group) {
  ModelSpec m;
  try {
    m = load_model(p.model);
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: model: {}", p.origin, e.what()));
  }
  const int64_t max_seq = std::min<int64_t>(m.max_seq_len, std::max<int64_t>(p.context + 1, 16));
  System sys;
  try {
    sys = resolve_system(scenario_from_source(parse_toml_text(scenario_text(p, bits, group, max_seq), p.origin)));
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: {}", p.origin, e.what()));
  }
  // The profile as a production kernel sees the device: its datasheet roofline, not this project's kernel tables.
  sys.server.gpu.reset();
  sys.server.measured.reset();
  return sys;
}

double predicted_tps(const System& sys, const PublishedPoint& p) {
  const CostModel cm(sys);
  const double B = static_cast<double>(p.batch);
  // Decode: one step of B sequences, each halfway through the generated span; prefill: one block.
  if (p.metric == "decode_tps") return B / cm.server_step(p.batch, B * 0.5 * static_cast<double>(p.context));
  return static_cast<double>(p.context) / cm.server_prefill(p.context);
}

}  // namespace

PublishedPrediction predict_published(const PublishedPoint& p) {
  PublishedPrediction r;
  r.point = p;
  std::tie(r.bits, r.group_size) = opsc_format(p.weight_bits);
  r.predicted = predicted_tps(point_system(p, r.bits, r.group_size), p);
  return r;
}

std::vector<ProfileFit> fit_published(const std::vector<PublishedPoint>& points) {
  std::map<std::string, std::vector<std::pair<const PublishedPoint*, System>>> by_device;
  for (const PublishedPoint& p : points) {
    if (p.role != "fit") continue;
    const auto [bits, group] = opsc_format(p.weight_bits);
    by_device[p.device].emplace_back(&p, point_system(p, bits, group));
  }
  std::vector<ProfileFit> out;
  for (auto& [device, pts] : by_device) {
    ProfileFit f;
    f.device = device;
    const HwProfile& hw = pts.front().second.server;
    f.was_efficiency_memory = f.efficiency_memory = hw.efficiency_memory.value;
    f.was_efficiency_memory_quantized = f.efficiency_memory_quantized = hw.memory_efficiency(4);
    f.was_launch_overhead = f.launch_overhead = hw.launch_overhead.value;
    f.was_efficiency_compute = f.efficiency_compute = hw.efficiency_compute.value;
    using Fitted = std::pair<const PublishedPoint*, System>;
    std::vector<Fitted*> dec, pre, quantized, wide;
    for (auto& x : pts) (x.first->metric == "decode_tps" ? dec : pre).push_back(&x);
    for (auto* x : dec) (x->first->weight_bits < 16 ? quantized : wide).push_back(x);
    for (auto* x : dec) f.decode_points.push_back(x->first->id);
    for (auto* x : pre) f.prefill_points.push_back(x->first->id);
    const auto sq_log_error = [](const std::vector<Fitted*>& v, double e_wide, double e_quantized, double launch,
                                 double e_comp) {
      double s = 0;
      for (auto* x : v) {
        System& sys = x->second;
        sys.server.efficiency_memory.value = e_wide;
        sys.server.efficiency_memory_quantized = Sourced{e_quantized, "fit"};
        sys.server.launch_overhead.value = launch;
        sys.server.efficiency_compute.value = e_comp;
        const double r = std::log(predicted_tps(sys, *x->first) / x->first->value);
        s += r * r;
      }
      return s;
    };
    // Decode points at 16 bits and below 16 bits, in at least three shapes (model, width): each width class has
    // its memory efficiency (a dequantizing GEMV need not stream like an fp16 one) and the launch overhead is fitted
    // beside them. Fewer shapes fit one efficiency for every stream and the launch overhead (two shapes), or the
    // launch overhead alone (one shape): no more parameters than the points identify.
    std::set<std::pair<std::string, double>> shapes;
    for (auto* x : dec) shapes.insert({x->first->model, x->first->weight_bits});
    if (!dec.empty()) {
      f.separated = !quantized.empty() && !wide.empty() && shapes.size() >= 3;
      const bool fit_eff = shapes.size() >= 2;
      std::vector<double> efficiencies, launches;
      for (int ei = 5; ei <= 100; ++ei) efficiencies.push_back(0.01 * ei);
      for (int li = 0; li <= 400; ++li) launches.push_back(0.25e-6 * li);
      double best = INFINITY;
      for (double launch : launches) {
        // One class: one efficiency for every stream. Two: the wide points' efficiency first (the quantized ones
        // read their KV at it too), then the quantized points', then the wide ones' again given that.
        double e_wide = f.was_efficiency_memory, e_q = f.was_efficiency_memory_quantized;
        const double comp = f.was_efficiency_compute;
        auto best_of = [&](auto error_at) {  // the grid's efficiency of least error
          double b = INFINITY, arg = 0;
          for (double e : efficiencies)
            if (const double err = error_at(e); err < b) b = err, arg = e;
          return arg;
        };
        auto fit_wide = [&] { return best_of([&](double e) { return sq_log_error(wide, e, e_q, launch, comp); }); };
        if (!fit_eff) {
          e_wide = e_q = f.was_efficiency_memory;
        } else if (!f.separated) {
          e_wide = e_q = best_of([&](double e) { return sq_log_error(dec, e, e, launch, comp); });
        } else {
          e_wide = fit_wide();
          e_q = best_of([&](double e) { return sq_log_error(quantized, e_wide, e, launch, comp); });
          e_wide = fit_wide();
        }
        const double err = sq_log_error(dec, e_wide, e_q, launch, comp);
        if (err < best)
          best = err, f.efficiency_memory = e_wide, f.efficiency_memory_quantized = e_q, f.launch_overhead = launch;
      }
      f.fitted_memory = fit_eff;
    }
    if (!pre.empty()) {
      double best = INFINITY;
      for (int ci = 1; ci <= 100; ++ci) {
        const double err = sq_log_error(pre, f.efficiency_memory, f.efficiency_memory_quantized, f.launch_overhead, 0.01 * ci);
        if (err < best) best = err, f.efficiency_compute = 0.01 * ci;
      }
      f.fitted_compute = true;
    }
    out.push_back(std::move(f));
  }
  return out;
}
PublishedErrors published_errors(const std::vector<PublishedPrediction>& v, const std::string& role,
                                 const std::string& metric) {
  PublishedErrors e;
  double sum = 0;
  for (const auto& x : v) {
    if ((!role.empty() && x.point.role != role) || (!metric.empty() && x.point.metric != metric)) continue;
    ++e.n;
    sum += std::abs(x.error());
    e.worst_abs = std::max(e.worst_abs, std::abs(x.error()));
  }
  e.mean_abs = e.n ? sum / e.n : 0;
  return e;
}

std::vector<PublishedPrediction> run_published(const std::string& file, const std::string& out_dir, bool plot) {
  const std::vector<PublishedPoint> points = read_published(file);
  std::vector<PublishedPrediction> out;
  for (const PublishedPoint& p : points) out.push_back(predict_published(p));

  fmt::print("published points ({}) against the device profiles' roofline\n", file);
  fmt::print("  {:<4} {:<22} {:<14} {:<10} {:<7} {:>5} {:>9} {:>10} {:>8}  {}\n", "id", "device", "model", "quant", "metric",
             "ctx", "published", "predicted", "error", "role");
  CsvTable t({"id", "device", "model", "quant", "metric", "batch", "context", "bits", "group_size", "published_tps",
              "predicted_tps", "error", "role", "software", "source_url", "source_locator"});
  for (const PublishedPrediction& x : out) {
    const PublishedPoint& p = x.point;
    fmt::print("  {:<4} {:<22} {:<14} {:<10} {:<7} {:>5} {:>9.1f} {:>10.1f} {:>+7.1f}%  {}\n", p.id, p.device, p.model,
               p.quant.substr(0, std::min(p.quant.find(' '), size_t{10})),
               p.metric == "decode_tps" ? "decode" : "prefill", p.context, p.value, x.predicted, 100 * x.error(), p.role);
    t.row().add(p.id).add(p.device).add(p.model).add(p.quant).add(p.metric).add(p.batch).add(p.context).add(x.bits)
        .add(x.group_size).add(p.value).add(x.predicted).add(x.error()).add(p.role).add(p.software).add(p.source_url)
        .add(p.source_locator);
  }
  const PublishedErrors all = published_errors(out), held = published_errors(out, "held-out", "decode_tps");
  fmt::print("published: {} points, mean |error| {:.1f}%, worst {:.1f}% (held out: {} decode points, mean {:.1f}%, worst {:.1f}%)\n",
             all.n, 100 * all.mean_abs, 100 * all.worst_abs, held.n, 100 * held.mean_abs, 100 * held.worst_abs);
  std::filesystem::create_directories(out_dir);
  t.write(out_dir + "/published_predicted.csv");
  if (plot) run_plots(out_dir);
  fmt::print("wrote {}/published_predicted.csv{}\n", out_dir, plot ? " and figures/published.png" : "");
  return out;
}

}  // namespace splitsim

namespace splitsim {

void run_published_fit(const std::string& file) {
  const std::vector<ProfileFit> fits = fit_published(read_published(file));
  fmt::print("profiles fitted to the fit points of {}\n", file);
  for (const ProfileFit& f : fits) {
    fmt::print("  {:<22} decode {}: efficiency.memory {:.2f} (now {:.2f}){}, launch_overhead {:.2f} us (now {:.2f})\n",
               f.device, f.decode_points.empty() ? "-" : fmt::format("{}", fmt::join(f.decode_points, ",")),
               f.efficiency_memory, f.was_efficiency_memory,
               f.separated ? fmt::format(", efficiency.memory_quantized {:.2f} (now {:.2f})", f.efficiency_memory_quantized,
                                         f.was_efficiency_memory_quantized)
                           : "",
               f.launch_overhead * 1e6, f.was_launch_overhead * 1e6);
    if (f.fitted_compute)
      fmt::print("  {:<22} prefill {}: efficiency.compute {:.2f} (now {:.2f})\n", "",
                 fmt::format("{}", fmt::join(f.prefill_points, ",")), f.efficiency_compute, f.was_efficiency_compute);
  }
}

}  // namespace splitsim
