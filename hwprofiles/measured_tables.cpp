// Reading the executor's measured tables (hwprofiles/measured/<host>.toml, [executor] part) and evaluating them.
//
// The file is written by a program (`splitsim calibrate-executor`), but it is still an input: every key is
// checked, unknown keys are rejected, and errors name the file and the key.
#include "hwprofiles/measured_tables.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <set>

#include "core/error.hpp"
#include "core/formats/strict_table.hpp"
#include "core/scenario.hpp"

namespace splitsim {

double Curve::at(double x) const {
  if (xs.empty()) return 0;
  if (xs.size() == 1) return ys[0];
  // The segment containing x, or the first/last one for extrapolation.
  size_t i = 1;
  while (i + 1 < xs.size() && x > xs[i]) ++i;
  const double x0 = xs[i - 1], x1 = xs[i], y0 = ys[i - 1], y1 = ys[i];
  return std::max(0.0, y0 + (y1 - y0) * (x - x0) / (x1 - x0));
}

double Curve::clamped(double x) const {
  if (xs.empty()) return 0;
  return at(std::clamp(x, xs.front(), xs.back()));
}

double TransportTable::fixed(int64_t clients) const {
  if (round_trip.xs.empty()) return 0;
  const double k = std::clamp(static_cast<double>(clients), round_trip.xs.front(), round_trip.xs.back());
  return 0.5 * round_trip.at(k);
}

const LayerTable* MeasuredTables::layer(const std::string& model, int bits) const {
  for (const auto& t : layers)
    if (t.model == model && t.bits == bits) return &t;
  return nullptr;
}

const CodecTable* MeasuredTables::codec(const std::string& name, int64_t dim) const {
  for (const auto& t : codecs)
    if (t.codec == name && t.dim == dim) return &t;
  return nullptr;
}

nlohmann::json MeasuredTables::to_json() const {
  nlohmann::json l = nlohmann::json::array(), c = nlohmann::json::array();
  for (const auto& t : layers) l.push_back(fmt::format("{} {}-bit", t.model, t.bits));
  for (const auto& t : codecs) c.push_back(fmt::format("{} d={}", t.codec, t.dim));
  return {{"file", file},       {"host", host},   {"date", date},
          {"command", command}, {"cores", cores}, {"layers", l},
          {"codecs", c}};
}

std::string default_measured_path() { return data_dir() + "/hwprofiles/measured/" + this_host_name() + ".toml"; }

namespace {
Curve curve(std::pair<std::vector<double>, std::vector<double>> s) { return Curve{std::move(s.first), std::move(s.second)}; }
// A wake curve: KEY_gap_s (idle gaps, s) against KEY (factors), every factor at least 1 (a step after a wait is
// never faster than one without).
Curve wake_curve(StrictTable& t, const std::string& key) {
  Curve c = curve(t.series(key + "_gap_s", key));
  for (double f : c.ys)
    if (!(f >= 1)) t.fail(key, "factors of at least 1 (a step after an idle gap against one without)");
  return c;
}
}  // namespace

std::shared_ptr<const MeasuredTables> load_measured_tables(const std::string& path, bool required) {
  const toml::table root = parse_program_table(path, "measured tables");
  const toml::table* ex = root["executor"].as_table();
  if (!ex && !required) return nullptr;
  if (!ex)
    throw InputError(fmt::format("{}: executor: expected the executor tables (run `splitsim calibrate-executor`)", path));
  auto m = std::make_shared<MeasuredTables>();
  m->file = path;
  StrictTable r(path, *ex, "executor");
  if (!r.has("version") || r.integer("version", 1) != kMeasuredTablesVersion)
    throw InputError(fmt::format("{}: executor.version: expected {} (steps timed one at a time after an idle wait, "
                                 "averaged), got {}: measured by an older splitsim; rerun `splitsim calibrate-executor`",
                                 path, kMeasuredTablesVersion, r.has("version") ? std::to_string(r.integer("version", 1)) : "none"));
  m->host = r.str("host");
  m->date = r.str("date");
  m->command = r.str("command");
  m->cores = r.integer("cores", 1);
  for (StrictTable& t : r.tables("layers")) {
    LayerTable l;
    l.model = t.str("model");
    l.dim = t.integer("dim", 1);
    l.n_layers = t.integer("n_layers", 1);
    l.bits = static_cast<int>(t.integer("bits", 2));
    l.group_size = static_cast<int>(t.integer("group_size", 1));
    l.source = t.str("source");
    l.prefill = curve(t.series("prefill_tokens", "prefill_s"));
    l.decode_base = curve(t.series("decode_batch", "decode_s"));
    l.decode_per_context = t.number("decode_s_per_context");
    l.head = curve(t.series("head_batch", "head_s"));
    if (t.has("wake_edge")) l.wake_edge = wake_curve(t, "wake_edge");
    if (t.has("wake_server")) l.wake_server = wake_curve(t, "wake_server");
    t.expect_all_used();
    m->layers.push_back(std::move(l));
  }
  for (StrictTable& t : r.tables("codecs")) {
    CodecTable c;
    c.codec = t.str("codec");
    c.dim = t.integer("dim", 1);
    c.source = t.str("source");
    c.encode = curve(t.series("tokens", "encode_s"));
    c.decode = curve(t.series("tokens", "decode_s"));
    if (t.has("wake_encode")) c.wake_encode = wake_curve(t, "wake_encode");
    if (t.has("wake_decode")) c.wake_decode = wake_curve(t, "wake_decode");
    t.expect_all_used();
    m->codecs.push_back(std::move(c));
  }
  {
    StrictTable t = r.table("memory");
    m->memory.source = t.str("source");
    m->memory.read_single = t.number("read_single_Bps");
    m->memory.read_all = t.number("read_all_Bps");
    m->memory.threads = t.integer("threads", 1);
    if (m->memory.read_single <= 0 || m->memory.read_all <= 0) t.fail("read_single_Bps", "positive bandwidths");
    t.expect_all_used();
  }
  {
    StrictTable t = r.table("transport");
    m->transport.source = t.str("source");
    m->transport.round_trip = curve(t.series("clients", "round_trip_s"));
    m->transport.per_byte = t.number("per_byte_s");
    if (t.has("server_handoff_s")) m->transport.handoff = t.number("server_handoff_s");
    t.expect_all_used();
  }
  r.expect_all_used();
  return m;
}

}  // namespace splitsim
