// Sweep grids: the cartesian product of axes, times named cases, minus exclusions, in a fixed order so that
// every shard of a sweep agrees on which point is which.
#include "explorer/grid.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <limits>
#include <sstream>

#include "core/error.hpp"
#include "core/toml_reader.hpp"

namespace splitsim {
namespace {

// A TOML basic string: quotes, backslashes and control characters escaped, so the text stays one value.
std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\u{:04X}", u);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// A TOML node as the text of a value (no truncation, strings quoted).
std::string render(const toml::node& n) {
  if (auto s = n.as_string()) return quote(s->get());
  if (auto a = n.as_array()) {
    std::string out = "[";
    for (size_t i = 0; i < a->size(); ++i) out += (i ? ", " : "") + render(*a->get(i));
    return out + "]";
  }
  std::ostringstream os;
  n.visit([&](auto&& v) { os << v; });
  return os.str();
}

// Every leaf of a (possibly nested) table as a dotted key; quoted keys with dots stay as written.
void flatten(const toml::table& t, const std::string& prefix, std::vector<std::pair<std::string, const toml::node*>>& out) {
  for (auto&& [k, v] : t) {
    std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (auto sub = v.as_table())
      flatten(*sub, key, out);
    else
      out.emplace_back(key, &v);
  }
}

// Values of an axis or an exclusion: a TOML array (each element one value), or a string that --set would
// expand ("0:32:4", "1,10,100"), or a single scalar.
std::vector<std::string> values_of(const std::string& where, const std::string& key, const toml::node& n) {
  std::vector<std::string> out;
  if (auto a = n.as_array()) {
    if (a->empty()) throw_input(where, key, "a non-empty list of values", "[]");
    for (auto&& e : *a) out.push_back(normalize_value(render(e)));
    return out;
  }
  if (auto s = n.as_string()) {
    for (const auto& v : parse_override(key + "=" + s->get()).values) out.push_back(normalize_value(v));
    return out;
  }
  return {normalize_value(render(n))};
}

// Odometer over the axes, last axis fastest; false after the last combination.
bool advance(std::vector<size_t>& idx, const std::vector<Axis>& axes) {
  for (size_t k = axes.size(); k-- > 0;) {
    if (++idx[k] < axes[k].values.size()) return true;
    idx[k] = 0;
  }
  return false;
}

}  // namespace

std::string normalize_value(const std::string& raw) {
  try {
    toml::table t = toml::parse("v = " + raw);
    if (auto* n = t.get("v")) return render(*n);
  } catch (const toml::parse_error&) {
  }
  return quote(raw);
}

std::string display_value(const std::string& raw) {
  std::string v = normalize_value(raw);
  try {
    toml::table t = toml::parse("v = " + v);
    if (auto s = t.get("v")->as_string()) return s->get();
  } catch (const toml::parse_error&) {
  }
  return v;
}

std::vector<std::string> SweepSpec::varied_keys() const {
  std::vector<std::string> keys;
  auto add = [&](const std::string& k) {
    for (const auto& e : keys)
      if (e == k) return;
    keys.push_back(k);
  };
  for (const auto& c : cases)
    for (const auto& a : c.set) add(a.first);
  for (const auto& a : axes) add(a.key);
  return keys;
}

void add_sets(SweepSpec& spec, const std::vector<std::string>& sets) {
  for (const auto& o : parse_overrides(sets)) {
    std::erase_if(spec.axes, [&](const Axis& a) { return a.key == o.key; });
    std::erase_if(spec.fixed, [&](const Assignment& a) { return a.first == o.key; });
    if (o.values.size() == 1) {
      spec.fixed.emplace_back(o.key, normalize_value(o.values[0]));
    } else {
      Axis a{o.key, {}};
      for (const auto& v : o.values) a.values.push_back(normalize_value(v));
      spec.axes.push_back(std::move(a));
    }
  }
}

SweepSpec spec_from_sets(const std::string& scenario, const std::vector<std::string>& sets) {
  SweepSpec spec;
  spec.scenario = scenario;
  spec.origin = "command line";
  add_sets(spec, sets);
  return spec;
}

SweepSpec load_sweep_file(const std::string& path) {
  auto src = parse_toml_file(path);
  const toml::table& root = src->root;
  SweepSpec spec;
  spec.origin = path;
  for (auto&& [k, v] : root) {
    std::string key(k.str());
    if (key != "scenario" && key != "description" && key != "set" && key != "axes" && key != "cases" &&
        key != "exclude")
      throw_input(path, key, "one of scenario, description, set, axes, cases, exclude", "an unknown key");
  }
  auto scen = root["scenario"].value<std::string>();
  if (!scen) throw_input(path, "scenario", "the base scenario file, relative to the sweep file", "nothing");
  std::filesystem::path p(*scen);
  if (p.is_relative()) p = std::filesystem::path(path).parent_path() / p;
  spec.scenario = p.lexically_normal().string();

  if (auto set = root["set"].as_table()) {
    std::vector<std::pair<std::string, const toml::node*>> leaves;
    flatten(*set, "", leaves);
    for (auto& [key, n] : leaves) spec.fixed.emplace_back(key, normalize_value(render(*n)));
  }
  if (auto axes = root["axes"].as_table()) {
    std::vector<std::pair<std::string, const toml::node*>> leaves;
    flatten(*axes, "", leaves);
    for (auto& [key, n] : leaves) spec.axes.push_back({key, values_of(path, "axes." + key, *n)});
  }
  if (auto cases = root["cases"].as_array()) {
    for (size_t i = 0; i < cases->size(); ++i) {
      auto t = cases->get(i)->as_table();
      std::string where_key = fmt::format("cases[{}]", i);
      if (!t) throw_input(path, where_key, "a table [[cases]] with name and set", "something else");
      SweepCase c;
      c.name = (*t)["name"].value_or(fmt::format("case{}", i));
      if (auto set = (*t)["set"].as_table()) {
        std::vector<std::pair<std::string, const toml::node*>> leaves;
        flatten(*set, "", leaves);
        for (auto& [key, n] : leaves) c.set.emplace_back(key, normalize_value(render(*n)));
      }
      spec.cases.push_back(std::move(c));
    }
  }
  if (auto ex = root["exclude"].as_array()) {
    for (size_t i = 0; i < ex->size(); ++i) {
      auto t = ex->get(i)->as_table();
      if (!t) throw_input(path, fmt::format("exclude[{}]", i), "a table of key = value(s)", "something else");
      ExcludeRule r;
      std::vector<std::pair<std::string, const toml::node*>> leaves;
      flatten(*t, "", leaves);
      for (auto& [key, n] : leaves) r.when.emplace_back(key, values_of(path, fmt::format("exclude[{}].{}", i, key), *n));
      spec.exclude.push_back(std::move(r));
    }
  }
  return spec;
}

int64_t grid_size(const SweepSpec& spec) {
  // Saturates instead of overflowing: four axes of 100,000 points are "more than 2^63", not a negative count.
  int64_t n = static_cast<int64_t>(std::max<size_t>(1, spec.cases.size()));
  for (const auto& a : spec.axes) {
    const auto k = static_cast<int64_t>(a.values.size());
    if (k == 0) return 0;
    n = n > std::numeric_limits<int64_t>::max() / k ? std::numeric_limits<int64_t>::max() : n * k;
  }
  return n;
}

void check_grid_size(const SweepSpec& spec) {
  const int64_t total = grid_size(spec);
  if (total > kMaxGridPoints) {
    std::string axes;
    for (const auto& a : spec.axes) axes += fmt::format("{}{} ({})", axes.empty() ? "" : " x ", a.key, a.values.size());
    throw InputError(fmt::format(
        "{}: expected a grid of at most {} points, got {} = {}", spec.origin, kMaxGridPoints,
        total == std::numeric_limits<int64_t>::max() ? std::string("more than 2^63") : std::to_string(total),
        axes.empty() ? "cases only" : axes));
  }
}

std::vector<GridPoint> expand_grid(const SweepSpec& spec) {
  check_grid_size(spec);
  std::vector<SweepCase> cases = spec.cases.empty() ? std::vector<SweepCase>{SweepCase{}} : spec.cases;
  std::vector<GridPoint> out;
  std::vector<size_t> idx(spec.axes.size(), 0);
  for (const auto& c : cases) {
    std::fill(idx.begin(), idx.end(), 0);
    while (true) {
      GridPoint p;
      p.case_name = c.name;
      // Effective value of every key, for exclusion matching: fixed < case < axis.
      std::vector<Assignment> all = spec.fixed;
      auto set_all = [&](const Assignment& a) {
        for (auto& e : all)
          if (e.first == a.first) {
            e.second = a.second;
            return;
          }
        all.push_back(a);
      };
      for (const auto& a : c.set) {
        p.values.push_back(a);
        set_all(a);
      }
      for (size_t k = 0; k < spec.axes.size(); ++k) {
        Assignment a{spec.axes[k].key, spec.axes[k].values[idx[k]]};
        p.values.push_back(a);
        set_all(a);
      }
      bool excluded = false;
      for (const auto& r : spec.exclude) {
        bool match = !r.when.empty();
        for (const auto& [key, vals] : r.when) {
          const std::string* have = nullptr;
          for (const auto& e : all)
            if (e.first == key) have = &e.second;
          bool any = false;
          if (have)
            for (const auto& v : vals) any = any || v == *have;
          match = match && any;
        }
        excluded = excluded || match;
      }
      if (!excluded) {
        for (const auto& a : all) p.overrides.push_back(Override{a.first, {a.second}, a.first + "=" + a.second});
        p.index = static_cast<int64_t>(out.size());
        out.push_back(std::move(p));
      }
      if (!advance(idx, spec.axes)) break;
    }
  }
  return out;
}

Shard parse_shard(const std::string& text) {
  Shard s;
  auto slash = text.find('/');
  try {
    if (slash == std::string::npos) throw std::invalid_argument("no slash");
    size_t used = 0;
    s.index = std::stoll(text.substr(0, slash), &used);
    if (used != slash) throw std::invalid_argument("junk");
    std::string rest = text.substr(slash + 1);
    s.count = std::stoll(rest, &used);
    if (used != rest.size()) throw std::invalid_argument("junk");
  } catch (const std::exception&) {
    throw InputError(fmt::format("--shard {}: expected i/n like 2/8 (1 <= i <= n)", text));
  }
  if (s.count < 1 || s.index < 1 || s.index > s.count)
    throw InputError(fmt::format("--shard {}: expected i/n with 1 <= i <= n", text));
  return s;
}

}  // namespace splitsim
