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

// A view of one TOML table that knows its dotted name, for errors, and checks that every key was read.
class Reader {
 public:
  Reader(const std::string& file, const toml::table& t, std::string name) : file_(file), t_(t), name_(std::move(name)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& expected) const {
    throw InputError(fmt::format("{}: {}.{}: expected {}", file_, name_, key, expected));
  }
  std::string str(const std::string& key) {
    used_.insert(key);
    auto v = t_[key].value<std::string>();
    if (!v) fail(key, "a string");
    return *v;
  }
  double number(const std::string& key, double lo = 0) {
    used_.insert(key);
    auto v = t_[key].value<double>();
    if (!v || !(*v >= lo)) fail(key, fmt::format("a number >= {}", lo));
    return *v;
  }
  int64_t integer(const std::string& key, int64_t lo) {
    used_.insert(key);
    auto v = t_[key].value<int64_t>();
    if (!v || *v < lo) fail(key, fmt::format("an integer >= {}", lo));
    return *v;
  }
  std::vector<double> numbers(const std::string& key) {
    used_.insert(key);
    const toml::array* a = t_[key].as_array();
    if (!a || a->empty()) fail(key, "a non-empty array of numbers");
    std::vector<double> out;
    for (const auto& n : *a) {
      auto v = n.value<double>();
      if (!v || !(*v >= 0)) fail(key, "an array of non-negative numbers");
      out.push_back(*v);
    }
    return out;
  }
  Curve curve(const std::string& xkey, const std::string& ykey) {
    Curve c{numbers(xkey), numbers(ykey)};
    if (c.xs.size() != c.ys.size()) fail(ykey, fmt::format("{} values, one per {}", c.xs.size(), xkey));
    for (size_t i = 1; i < c.xs.size(); ++i)
      if (!(c.xs[i] > c.xs[i - 1])) fail(xkey, "strictly increasing values");
    return c;
  }
  bool has(const std::string& key) const { return t_.contains(key); }
  std::vector<Reader> tables(const std::string& key) {
    used_.insert(key);
    std::vector<Reader> out;
    if (!t_.contains(key)) return out;
    const toml::array* a = t_[key].as_array();
    if (!a) fail(key, "an array of tables [[...]]");
    for (size_t i = 0; i < a->size(); ++i) {
      const toml::table* t = (*a)[i].as_table();
      if (!t) fail(key, "an array of tables [[...]]");
      out.emplace_back(file_, *t, fmt::format("{}.{}[{}]", name_, key, i));
    }
    return out;
  }
  Reader table(const std::string& key) {
    used_.insert(key);
    const toml::table* t = t_[key].as_table();
    if (!t) fail(key, "a table");
    return Reader(file_, *t, name_ + "." + key);
  }
  void expect_all_used() const {
    for (const auto& [k, v] : t_)
      if (!used_.count(std::string(k.str())))
        throw InputError(fmt::format("{}: {}.{}: unknown key", file_, name_, std::string(k.str())));
  }

 private:
  std::string file_;
  const toml::table& t_;
  std::string name_;
  std::set<std::string> used_;
};

}  // namespace

std::shared_ptr<const MeasuredTables> load_measured_tables(const std::string& path, bool required) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    if (std::string(e.description()).find("could not be opened") != std::string::npos)
      throw InputError(fmt::format("{}: cannot open measured tables", path));
    throw InputError(fmt::format("{}:{}:{}: malformed TOML: {}", path, e.source().begin.line, e.source().begin.column,
                                 e.description()));
  }
  const toml::table* ex = root["executor"].as_table();
  if (!ex && !required) return nullptr;
  if (!ex)
    throw InputError(fmt::format("{}: executor: expected the executor tables (run `splitsim calibrate-executor`)", path));
  auto m = std::make_shared<MeasuredTables>();
  m->file = path;
  Reader r(path, *ex, "executor");
  if (!r.has("version") || r.integer("version", 1) != kMeasuredTablesVersion)
    throw InputError(fmt::format("{}: executor.version: expected {} (steps timed one at a time after an idle wait, "
                                 "averaged), got {}: measured by an older splitsim; rerun `splitsim calibrate-executor`",
                                 path, kMeasuredTablesVersion, r.has("version") ? std::to_string(r.integer("version", 1)) : "none"));
  m->host = r.str("host");
  m->date = r.str("date");
  m->command = r.str("command");
  m->cores = r.integer("cores", 1);
  for (Reader& t : r.tables("layers")) {
    LayerTable l;
    l.model = t.str("model");
    l.dim = t.integer("dim", 1);
    l.n_layers = t.integer("n_layers", 1);
    l.bits = static_cast<int>(t.integer("bits", 2));
    l.group_size = static_cast<int>(t.integer("group_size", 1));
    l.source = t.str("source");
    l.prefill = t.curve("prefill_tokens", "prefill_s");
    l.decode_base = t.curve("decode_batch", "decode_s");
    l.decode_per_context = t.number("decode_s_per_context");
    l.head = t.curve("head_batch", "head_s");
    t.expect_all_used();
    m->layers.push_back(std::move(l));
  }
  for (Reader& t : r.tables("codecs")) {
    CodecTable c;
    c.codec = t.str("codec");
    c.dim = t.integer("dim", 1);
    c.source = t.str("source");
    c.encode = t.curve("tokens", "encode_s");
    c.decode = t.curve("tokens", "decode_s");
    t.expect_all_used();
    m->codecs.push_back(std::move(c));
  }
  {
    Reader t = r.table("memory");
    m->memory.source = t.str("source");
    m->memory.read_single = t.number("read_single_Bps");
    m->memory.read_all = t.number("read_all_Bps");
    m->memory.threads = t.integer("threads", 1);
    if (m->memory.read_single <= 0 || m->memory.read_all <= 0) t.fail("read_single_Bps", "positive bandwidths");
    t.expect_all_used();
  }
  {
    Reader t = r.table("transport");
    m->transport.source = t.str("source");
    m->transport.round_trip = t.curve("clients", "round_trip_s");
    m->transport.per_byte = t.number("per_byte_s");
    t.expect_all_used();
  }
  r.expect_all_used();
  return m;
}

}  // namespace splitsim
