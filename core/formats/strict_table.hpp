// Reading tables that a program wrote (hwprofiles/measured/*.toml: the executor's measured tables, a GPU's kernel
// calibration). They are still inputs: every key is checked, unknown keys are rejected, and errors name the file and
// the dotted key ("hwprofiles/measured/x.toml: gemv[1].seconds: expected ...").
#pragma once
#include <fmt/format.h>
#include <toml++/toml.h>

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"

namespace splitsim {

// Parses a file; a missing file or a syntax error becomes an InputError naming it. what: "measured tables".
inline toml::table parse_program_table(const std::string& path, const char* what) {
  try {
    return toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    if (std::string(e.description()).find("could not be opened") != std::string::npos)
      throw InputError(fmt::format("{}: cannot open {}", path, what));
    throw InputError(fmt::format("{}:{}:{}: malformed TOML: {}", path, e.source().begin.line, e.source().begin.column,
                                 e.description()));
  }
}

class StrictTable {
 public:
  StrictTable(const std::string& file, const toml::table& t, std::string name)
      : file_(file), t_(t), name_(std::move(name)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& expected) const {
    throw InputError(fmt::format("{}: {}{}: expected {}", file_, name_.empty() ? "" : name_ + ".", key, expected));
  }
  bool has(const std::string& key) const { return t_.contains(key); }
  std::string str(const std::string& key) {
    used_.insert(key);
    auto v = t_[key].value<std::string>();
    if (!v) fail(key, "a string");
    return *v;
  }
  double number(const std::string& key, double lo = 0) {
    used_.insert(key);
    auto v = t_[key].value<double>();
    if (!v || !std::isfinite(*v) || !(*v >= lo)) fail(key, fmt::format("a finite number >= {}", lo));
    return *v;
  }
  int64_t integer(const std::string& key, int64_t lo, int64_t hi = INT64_MAX) {
    used_.insert(key);
    auto v = t_[key].value<int64_t>();
    if (!v || *v < lo || *v > hi) fail(key, fmt::format("an integer in [{}, {}]", lo, hi));
    return *v;
  }
  std::vector<double> numbers(const std::string& key) {
    used_.insert(key);
    const toml::array* a = t_[key].as_array();
    if (!a || a->empty()) fail(key, "a non-empty array of numbers");
    std::vector<double> out;
    for (const auto& n : *a) {
      auto v = n.value<double>();
      if (!v || !std::isfinite(*v) || !(*v >= 0)) fail(key, "an array of finite non-negative numbers");
      out.push_back(*v);
    }
    return out;
  }
  // Two arrays of equal length, xs strictly increasing: a table y(x).
  std::pair<std::vector<double>, std::vector<double>> series(const std::string& xkey, const std::string& ykey) {
    std::pair<std::vector<double>, std::vector<double>> c{numbers(xkey), numbers(ykey)};
    if (c.first.size() != c.second.size()) fail(ykey, fmt::format("{} values, one per {}", c.first.size(), xkey));
    for (size_t i = 1; i < c.first.size(); ++i)
      if (!(c.first[i] > c.first[i - 1])) fail(xkey, "strictly increasing values");
    return c;
  }
  std::vector<StrictTable> tables(const std::string& key) {
    used_.insert(key);
    std::vector<StrictTable> out;
    if (!t_.contains(key)) return out;
    const toml::array* a = t_[key].as_array();
    if (!a) fail(key, "an array of tables [[...]]");
    for (size_t i = 0; i < a->size(); ++i) {
      const toml::table* t = (*a)[i].as_table();
      if (!t) fail(key, "an array of tables [[...]]");
      out.emplace_back(file_, *t, fmt::format("{}{}[{}]", name_.empty() ? "" : name_ + ".", key, i));
    }
    return out;
  }
  StrictTable table(const std::string& key) {
    used_.insert(key);
    const toml::table* t = t_[key].as_table();
    if (!t) fail(key, "a table");
    return StrictTable(file_, *t, name_.empty() ? key : name_ + "." + key);
  }
  void expect_all_used() const {
    for (const auto& [k, v] : t_)
      if (!used_.count(std::string(k.str())))
        throw InputError(fmt::format("{}: {}{}: unknown key", file_, name_.empty() ? "" : name_ + ".", std::string(k.str())));
  }

 private:
  std::string file_;
  const toml::table& t_;
  std::string name_;
  std::set<std::string> used_;
};

}  // namespace splitsim
