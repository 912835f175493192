#include "hwprofiles/hw_profile.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "core/error.hpp"
#include "core/names.hpp"
#include "core/units.hpp"
#include "core/scenario.hpp"
#include "core/formats/gpu_calibration.hpp"
#include "hwprofiles/gpu_costs.hpp"
#include "hwprofiles/measured_tables.hpp"

namespace splitsim {
namespace {

nlohmann::json sourced_json(const Sourced& s) { return {{"value", s.value}, {"source", s.source}}; }

std::vector<std::string> toml_stems(const std::string& dir) {
  std::vector<std::string> out;
  if (!std::filesystem::is_directory(dir)) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".toml") out.push_back(e.path().stem().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string find_named(const std::string& dir, const std::string& what, const std::string& name,
                       const std::vector<std::string>& known) {
  std::string path = dir + "/" + name + ".toml";
  std::error_code ec;
  if (!name_problem(name).empty() || !std::filesystem::exists(path, ec)) {
    std::string list;
    for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
    throw InputError(fmt::format("unknown {} {} (known: {})", what, quoted_input(name), list));
  }
  return path;
}

const std::vector<std::string> kPrecisions = {"fp32", "fp16", "int8", "int4"};

}  // namespace

double HwProfile::peak_for(const std::string& precision) const {
  // A narrower precision the device lacks runs at the next wider one it has.
  auto it = std::find(kPrecisions.begin(), kPrecisions.end(), precision);
  for (auto p = std::make_reverse_iterator(it + 1); p != kPrecisions.rend(); ++p)
    if (auto f = peak.find(*p); f != peak.end()) return f->second.value;
  return peak.begin()->second.value;
}

nlohmann::json HwProfile::to_json() const {
  nlohmann::json pk;
  for (const auto& [k, v] : peak) pk[k] = sourced_json(v);
  nlohmann::json j{{"name", name},
                   {"kind", kind},
                   {"memory_capacity", sourced_json(memory_capacity)},
                   {"memory_bandwidth", sourced_json(memory_bandwidth)},
                   {"runtime_overhead", sourced_json(runtime_overhead)},
                   {"launch_overhead", sourced_json(launch_overhead)},
                   {"peak", pk},
                   {"efficiency_compute", sourced_json(efficiency_compute)},
                   {"efficiency_memory", sourced_json(efficiency_memory)}};
  if (efficiency_memory_quantized) j["efficiency_memory_quantized"] = sourced_json(*efficiency_memory_quantized);
  if (codec_throughput) j["codec_throughput"] = sourced_json(*codec_throughput);
  if (usd_per_hour) j["usd_per_hour"] = sourced_json(*usd_per_hour);
  if (power) j["power"] = power->to_json();
  if (gpu)
    j["measured"] = gpu->to_json();
  else if (!measured_ref.empty())
    j["measured"] = measured ? measured->to_json() : nlohmann::json{{"ref", measured_ref}, {"missing", measured_note}};
  return j;
}

std::string HwProfile::costing() const {
  const std::string roofline = "the roofline (datasheet peaks x [efficiency] assumptions)";
  if (gpu) {
    const nlohmann::json j = gpu->to_json();
    const auto join = [](const nlohmann::json& a) {
      std::string s;
      for (const auto& v : a) s += (s.empty() ? "" : ", ") + (v.is_string() ? v.get<std::string>() : v.dump());
      return s.empty() ? std::string("none") : s;
    };
    return fmt::format("{}: measured kernels of {} ({}): GEMV at {} bits, GEMM at {} bits, codec {}, launches; {} "
                       "elsewhere",
                       name, gpu->calibration().device, gpu->file().substr(gpu->file().rfind('/') + 1),
                       join(j["gemv_bits"]), join(j["gemm_bits"]), join(j["codecs"]), roofline);
  }
  if (measured)
    return fmt::format("{}: the executor tables measured on {} ({}) where they cover the model, {} elsewhere", name,
                       measured->host, measured->date, roofline);
  return fmt::format("{}: {}", name, roofline);
}

nlohmann::json LinkProfile::to_json() const {
  nlohmann::json j{{"name", name},
                   {"uplink", sourced_json(uplink)},
                   {"downlink", sourced_json(downlink)},
                   {"latency", sourced_json(latency)}};
  if (radio) j["radio"] = radio->to_json();
  if (trace)
    j["trace"] = {{"file", std::filesystem::path(trace->path).filename().string()},
                  {"content_hash", trace->content_hash},
                  {"period_s", trace->period},
                  {"source", trace_source}};
  return j;
}

const PowerMode* PowerProfile::mode(const std::string& name) const {
  for (const auto& m : modes)
    if (m.name == name) return &m;
  return nullptr;
}

nlohmann::json PowerProfile::to_json() const {
  nlohmann::json j{{"idle", sourced_json(idle)}, {"active", sourced_json(active)}};
  for (const auto& m : modes)
    j["modes"].push_back({{"name", m.name},
                          {"active", sourced_json(m.active)},
                          {"compute_scale", sourced_json(m.compute_scale)},
                          {"memory_scale", sourced_json(m.memory_scale)}});
  return j;
}

nlohmann::json RadioProfile::to_json() const {
  return {{"transfer", sourced_json(transfer)},           {"up_per_mbps", sourced_json(up_per_mbps)},
          {"down_per_mbps", sourced_json(down_per_mbps)}, {"tail_time", sourced_json(tail_time)},
          {"tail_power", sourced_json(tail_power)},       {"promotion_time", sourced_json(promotion_time)},
          {"promotion_power", sourced_json(promotion_power)}};
}

namespace {

PowerProfile read_power(const TomlReader& p) {
  PowerProfile pw;
  pw.idle = p.sourced("idle", Dim::power);
  pw.active = p.sourced("active", Dim::power);
  if (!(pw.active.value >= pw.idle.value))
    p.fail("active.value", "a power at least the idle power", format_power(pw.active.value));
  if (p.has("modes")) {
    for (const auto& t : p.tables("modes")) {
      PowerMode m;
      m.name = t.str("name");
      if (!name_problem(m.name).empty()) t.fail("name", name_rule(), quoted_input(m.name));
      m.active = t.sourced("active", Dim::power);
      m.compute_scale = t.sourced("compute_scale", Dim::dimensionless);
      m.memory_scale = t.sourced("memory_scale", Dim::dimensionless);
      for (const auto& [key, v] : {std::pair{"compute_scale", &m.compute_scale}, std::pair{"memory_scale", &m.memory_scale}})
        if (!(v->value > 0 && v->value <= 4))
          t.fail(std::string(key) + ".value", "a ratio in (0, 4] to the profile's own clocks", fmt::format("{}", v->value));
      if (!(m.active.value >= pw.idle.value)) t.fail("active.value", "a power at least the idle power", format_power(m.active.value));
      if (pw.mode(m.name)) t.fail("name", "a mode name used once", quoted_input(m.name));
      t.expect_all_used();
      pw.modes.push_back(std::move(m));
    }
  }
  p.expect_all_used();
  return pw;
}

RadioProfile read_radio(const TomlReader& r) {
  RadioProfile x;
  x.transfer = r.sourced("transfer", Dim::power);
  x.up_per_mbps = r.sourced("up_per_mbps", Dim::power);
  x.down_per_mbps = r.sourced("down_per_mbps", Dim::power);
  x.tail_time = r.sourced("tail_time", Dim::time);
  x.tail_power = r.sourced("tail_power", Dim::power);
  x.promotion_time = r.sourced("promotion_time", Dim::time);
  x.promotion_power = r.sourced("promotion_power", Dim::power);
  r.expect_all_used();
  return x;
}

}  // namespace

HwProfile load_hw_profile_file(const std::string& path) {
  auto src = parse_toml_file(path);
  TomlReader r(src);
  HwProfile h;
  h.name = r.str("name");
  h.kind = r.choice("kind", {"edge", "cloud"});
  h.description = r.str_or("description", "");
  h.memory_capacity = r.sourced("memory_capacity", Dim::bytes);
  h.memory_bandwidth = r.sourced("memory_bandwidth", Dim::data_rate);
  h.runtime_overhead = r.sourced("runtime_overhead", Dim::bytes);
  h.launch_overhead = r.sourced("launch_overhead", Dim::time);
  TomlReader pk = r.table("peak");
  for (const auto& p : kPrecisions)
    if (auto s = pk.sourced_opt(p, Dim::compute_rate)) {
      if (s->value <= 0) pk.fail(p + ".value", "a positive compute rate like \"21Tops\"", "0");
      h.peak[p] = *s;
    }
  if (h.peak.empty()) r.fail("peak", "at least one of fp32, fp16, int8, int4", "an empty table");
  TomlReader eff = r.table("efficiency");
  h.efficiency_compute = eff.sourced("compute", Dim::dimensionless);
  h.efficiency_memory = eff.sourced("memory", Dim::dimensionless);
  h.efficiency_memory_quantized = eff.sourced_opt("memory_quantized", Dim::dimensionless);
  auto fraction = [&](const std::string& key, const Sourced& s) {
    if (!(s.value > 0 && s.value <= 1)) eff.fail(key + ".value", "a fraction in (0, 1]", fmt::format("{}", s.value));
  };
  fraction("compute", h.efficiency_compute);
  fraction("memory", h.efficiency_memory);
  if (h.efficiency_memory_quantized) fraction("memory_quantized", *h.efficiency_memory_quantized);
  h.codec_throughput = r.sourced_opt("codec_throughput", Dim::data_rate);
  if (h.codec_throughput && h.codec_throughput->value <= 0)
    r.fail("codec_throughput.value", "a positive rate like \"2GB/s\"", "0");
  if (auto p = r.table_opt("power")) h.power = read_power(*p);
  h.usd_per_hour = r.sourced_opt("usd_per_hour", Dim::dimensionless);
  if (h.usd_per_hour && !(h.usd_per_hour->value > 0 && h.usd_per_hour->value < 1e6))
    r.fail("usd_per_hour.value", "a price in US dollars per hour in (0, 1e6) like 0.86",
           fmt::format("{}", h.usd_per_hour->value));
  if (h.usd_per_hour && h.kind != "cloud") r.fail("usd_per_hour", "no price on an edge profile (servers are priced)", "a price");
  h.measured_ref = r.str_or("measured", "");
  if (!h.measured_ref.empty()) {
    if (!name_problem(h.measured_ref).empty() || h.measured_ref.find("..") != std::string::npos)
      r.fail("measured", "\"auto\" or a file name in hwprofiles/measured/ (" + name_rule() + ")",
             quoted_input(h.measured_ref));
    std::string file = default_measured_path();
    if (h.measured_ref != "auto") {
      file = data_dir() + "/hwprofiles/measured/" + h.measured_ref;
      if (std::filesystem::path(file).extension() != ".toml") file += ".toml";
      if (!std::filesystem::exists(file))
        r.fail("measured", "a calibration in hwprofiles/measured/", "\"" + h.measured_ref + "\" (no such file)");
    }
    if (std::filesystem::exists(file)) {
      if (is_gpu_calibration(file)) {
        if (h.measured_ref == "auto") r.fail("measured", "a host's tables for \"auto\"", file + " (a GPU calibration)");
        h.gpu = load_gpu_costs(file);
      } else {
        h.measured = load_measured_tables(file, false);
      }
    }
    if (!h.measured && !h.gpu)
      h.measured_note = fmt::format("{} has no executor tables (run `splitsim calibrate-executor` on this host)", file);
  }
  r.expect_all_used();
  if (h.memory_capacity.value <= 0) r.fail("memory_capacity", "a positive size", "0");
  if (h.memory_bandwidth.value <= 0) r.fail("memory_bandwidth", "a positive rate", "0");
  return h;
}

LinkProfile load_link_file(const std::string& path) {
  auto src = parse_toml_file(path);
  TomlReader r(src);
  LinkProfile l;
  l.name = r.str("name");
  l.description = r.str_or("description", "");
  l.uplink = r.sourced("uplink", Dim::data_rate);
  l.downlink = r.sourced("downlink", Dim::data_rate);
  l.latency = r.sourced("latency", Dim::time);
  if (auto x = r.table_opt("radio")) l.radio = read_radio(*x);
  if (r.has("trace")) {
    const std::string name = r.str("trace");
    if (!name_problem(name).empty() || name.find("..") != std::string::npos)
      r.fail("trace", "a file name in hwprofiles/links/traces/ (" + name_rule() + ")", quoted_input(name));
    const std::string file = data_dir() + "/hwprofiles/links/traces/" + name;
    if (!std::filesystem::exists(file)) r.fail("trace", "a file in hwprofiles/links/traces/", quoted_input(name) + " (no such file)");
    l.trace = std::make_shared<const LinkTrace>(read_link_trace(file));
    l.trace_source = r.str("trace_source");
    if (l.trace_source.empty()) r.fail("trace_source", "where the trace came from (measured/paper/generated: ...)", "\"\"");
  } else if (r.has("trace_source")) {
    r.fail("trace_source", "a trace beside it", "a source without a trace");
  }
  r.expect_all_used();
  if (l.uplink.value <= 0) r.fail("uplink", "a positive rate", "0");
  if (l.downlink.value <= 0) r.fail("downlink", "a positive rate", "0");
  return l;
}

HwProfile in_power_mode(const HwProfile& h, const std::string& mode) {
  std::string names;
  if (h.power)
    for (const auto& m : h.power->modes) names += (names.empty() ? "" : ", ") + m.name;
  const PowerMode* m = h.power ? h.power->mode(mode) : nullptr;
  if (!m)
    throw std::invalid_argument(names.empty() ? fmt::format("a device profile with power modes ({} has none)", h.name)
                                              : fmt::format("one of {} ({})", names, h.name));
  if (h.measured || h.gpu)
    throw std::invalid_argument(fmt::format("a roofline-costed profile ({} is costed from measured tables)", h.name));
  HwProfile x = h;
  auto scaled = [&](Sourced& v, const Sourced& scale) {
    v.value *= scale.value;
    v.source += fmt::format(" x {} in power mode {} ({})", scale.value, m->name, scale.source);
  };
  for (auto& [prec, v] : x.peak) scaled(v, m->compute_scale);
  scaled(x.memory_bandwidth, m->memory_scale);
  x.power->active = m->active;
  x.name = h.name;  // the mode is the scenario's (edge.power_mode), shown beside the profile
  return x;
}

std::vector<std::string> hw_profile_names() { return toml_stems(data_dir() + "/hwprofiles"); }
std::vector<std::string> link_names() { return toml_stems(data_dir() + "/hwprofiles/links"); }

HwProfile load_hw_profile(const std::string& name) {
  return load_hw_profile_file(find_named(data_dir() + "/hwprofiles", "hardware profile", name, hw_profile_names()));
}

LinkProfile load_link(const std::string& name) {
  return load_link_file(find_named(data_dir() + "/hwprofiles/links", "link profile", name, link_names()));
}

}  // namespace splitsim
