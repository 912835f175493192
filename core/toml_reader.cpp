#include "core/toml_reader.hpp"

#include <fmt/format.h>

#include <sstream>

#include "core/error.hpp"

namespace splitsim {

std::shared_ptr<TomlSource> parse_toml_file(const std::string& path) {
  auto src = std::make_shared<TomlSource>();
  src->origin = path;
  try {
    src->root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    if (std::string(e.description()).find("File could not be opened") != std::string::npos)
      throw InputError(fmt::format("{}: cannot open file", path));
    throw InputError(fmt::format("{}:{}:{}: malformed TOML: {}", path, b.line, b.column, e.description()));
  }
  return src;
}

std::shared_ptr<TomlSource> parse_toml_text(std::string_view text, const std::string& origin) {
  auto src = std::make_shared<TomlSource>();
  src->origin = origin;
  try {
    src->root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw InputError(fmt::format("{}:{}:{}: malformed TOML: {}", origin, b.line, b.column, e.description()));
  }
  return src;
}

std::string toml_repr(const toml::node& n) {
  std::ostringstream os;
  n.visit([&](auto&& v) {
    if constexpr (toml::is_string<decltype(v)>)
      os << '"' << v.get() << '"';
    else
      os << v;
  });
  std::string s = os.str();
  for (auto& c : s)
    if (c == '\n') c = ' ';
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

TomlReader::TomlReader(std::shared_ptr<TomlSource> src, const toml::table* table, std::string prefix)
    : src_(std::move(src)), table_(table), prefix_(std::move(prefix)) {}

TomlReader::TomlReader(std::shared_ptr<TomlSource> src) : src_(std::move(src)), table_(&src_->root) {}

std::string TomlReader::full_key(std::string_view key) const {
  return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
}

std::string TomlReader::where(std::string_view key) const {
  std::string fk = full_key(key);
  for (const auto& o : src_->overridden)
    if (fk == o || fk.rfind(o + ".", 0) == 0 || o.rfind(fk + ".", 0) == 0) return src_->origin + " (--set)";
  return src_->origin;
}

const toml::node* TomlReader::node(std::string_view key) const { return table_->get(key); }

bool TomlReader::has(std::string_view key) const { return node(key) != nullptr; }

bool TomlReader::is_table(std::string_view key) const {
  const toml::node* n = node(key);
  return n && n->is_table();
}

void TomlReader::mark(std::string_view key) const { src_->used.insert(full_key(key)); }

bool TomlReader::is_string(std::string_view key) const {
  const toml::node* n = node(key);
  return n && n->is_string();
}

std::string TomlReader::got_text(std::string_view key) const {
  const toml::node* n = node(key);
  return n ? toml_repr(*n) : std::string("nothing (key missing)");
}

void TomlReader::fail(std::string_view key, std::string_view expected, std::string_view got) const {
  throw_input(where(key), full_key(key), std::string(expected), std::string(got));
}

std::string TomlReader::str(std::string_view key) const {
  mark(key);
  const toml::node* n = node(key);
  if (!n || !n->is_string()) fail(key, "a string", got_text(key));
  return std::string(n->as_string()->get());
}

std::string TomlReader::str_or(std::string_view key, std::string fallback) const {
  return has(key) ? str(key) : std::move(fallback);
}

std::string TomlReader::choice(std::string_view key, const std::vector<std::string>& allowed) const {
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : "|") + a;
  mark(key);
  const toml::node* n = node(key);
  if (!n || !n->is_string()) fail(key, "one of " + list, got_text(key));
  std::string v(n->as_string()->get());
  for (const auto& a : allowed)
    if (a == v) return v;
  fail(key, "one of " + list, got_text(key));
}

std::string TomlReader::choice_or(std::string_view key, const std::vector<std::string>& allowed,
                                  std::string fallback) const {
  return has(key) ? choice(key, allowed) : std::move(fallback);
}

int64_t TomlReader::integer(std::string_view key, int64_t lo, int64_t hi) const {
  mark(key);
  const toml::node* n = node(key);
  std::string range = fmt::format("an integer in [{}, {}]", lo, hi);
  if (!n || !n->is_integer()) fail(key, range, got_text(key));
  int64_t v = n->as_integer()->get();
  if (v < lo || v > hi) fail(key, range, got_text(key));
  return v;
}

int64_t TomlReader::integer_or(std::string_view key, int64_t lo, int64_t hi, int64_t fallback) const {
  return has(key) ? integer(key, lo, hi) : fallback;
}

double TomlReader::number(std::string_view key, double lo, double hi) const {
  mark(key);
  const toml::node* n = node(key);
  std::string range = fmt::format("a number in [{}, {}]", lo, hi);
  if (!n || !(n->is_integer() || n->is_floating_point())) fail(key, range, got_text(key));
  double v = n->is_integer() ? static_cast<double>(n->as_integer()->get()) : n->as_floating_point()->get();
  if (!(v >= lo && v <= hi)) fail(key, range, got_text(key));
  return v;
}

double TomlReader::number_or(std::string_view key, double lo, double hi, double fallback) const {
  return has(key) ? number(key, lo, hi) : fallback;
}

bool TomlReader::boolean_or(std::string_view key, bool fallback) const {
  if (!has(key)) return fallback;
  mark(key);
  const toml::node* n = node(key);
  if (!n->is_boolean()) fail(key, "true or false", got_text(key));
  return n->as_boolean()->get();
}

double TomlReader::quantity(std::string_view key, Dim dim) const {
  mark(key);
  const toml::node* n = node(key);
  std::string expected = fmt::format("{} like {}", dim_name(dim), dim_example(dim));
  if (!n) fail(key, expected, got_text(key));
  if (dim == Dim::dimensionless && (n->is_integer() || n->is_floating_point()))
    return number(key, 0, std::numeric_limits<double>::max());
  if (!n->is_string()) fail(key, expected, got_text(key));
  try {
    return parse_quantity(n->as_string()->get(), dim);
  } catch (const std::invalid_argument& e) {
    fail(key, expected, got_text(key) + " (" + e.what() + ")");
  }
}

double TomlReader::quantity_or(std::string_view key, Dim dim, double fallback) const {
  return has(key) ? quantity(key, dim) : fallback;
}

std::optional<Sourced> TomlReader::sourced_opt(std::string_view key, Dim dim) const {
  if (!has(key)) return std::nullopt;
  return sourced(key, dim);
}

Sourced TomlReader::sourced(std::string_view key, Dim dim) const {
  mark(key);
  const toml::node* n = node(key);
  std::string expected = fmt::format("{{ value = {}, source = \"...\" }}", dim_example(dim));
  if (!n || !n->is_table()) fail(key, expected, got_text(key));
  TomlReader sub(src_, n->as_table(), full_key(key));
  Sourced s;
  s.value = sub.quantity("value", dim);
  s.source = sub.str("source");
  if (s.source.empty()) sub.fail("source", "a non-empty provenance (datasheet/paper/measured/assumption: ...)", "\"\"");
  sub.expect_all_used();
  return s;
}

std::vector<int64_t> TomlReader::int_list(std::string_view key, int64_t lo, int64_t hi) const {
  mark(key);
  const toml::node* n = node(key);
  std::string expected = fmt::format("an array of integers in [{}, {}]", lo, hi);
  if (!n || !n->is_array()) fail(key, expected, got_text(key));
  std::vector<int64_t> out;
  for (const auto& e : *n->as_array()) {
    if (!e.is_integer()) fail(key, expected, got_text(key));
    int64_t v = e.as_integer()->get();
    if (v < lo || v > hi) fail(key, expected, got_text(key));
    out.push_back(v);
  }
  if (out.empty()) fail(key, "a non-empty " + expected.substr(3), got_text(key));
  return out;
}

std::vector<int64_t> TomlReader::int_list_or(std::string_view key, int64_t lo, int64_t hi,
                                             std::vector<int64_t> fallback) const {
  return has(key) ? int_list(key, lo, hi) : std::move(fallback);
}

TomlReader TomlReader::table(std::string_view key) const {
  mark(key);
  const toml::node* n = node(key);
  if (!n || !n->is_table()) fail(key, "a table", got_text(key));
  return TomlReader(src_, n->as_table(), full_key(key));
}

std::optional<TomlReader> TomlReader::table_opt(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return table(key);
}

std::vector<TomlReader> TomlReader::tables(std::string_view key) const {
  mark(key);
  const toml::node* n = node(key);
  if (!n || !n->is_array_of_tables()) fail(key, "an array of tables ([[...]])", got_text(key));
  std::vector<TomlReader> out;
  size_t i = 0;
  for (const auto& e : *n->as_array()) out.emplace_back(src_, e.as_table(), fmt::format("{}[{}]", full_key(key), i++));
  return out;
}

void TomlReader::expect_all_used() const {
  for (const auto& [k, v] : *table_) {
    std::string fk = full_key(k.str());
    if (!src_->used.count(fk)) {
      std::string known;
      for (const auto& [k2, v2] : *table_)
        if (src_->used.count(full_key(k2.str()))) known += (known.empty() ? "" : ", ") + std::string(k2.str());
      fail(k.str(), known.empty() ? "no such key here" : "one of the known keys (" + known + ")", "unknown key");
    }
    if (v.is_table()) TomlReader(src_, v.as_table(), fk).expect_all_used();
    if (v.is_array_of_tables()) {
      size_t i = 0;
      for (const auto& e : *v.as_array())
        TomlReader(src_, e.as_table(), fmt::format("{}[{}]", fk, i++)).expect_all_used();
    }
  }
}

}  // namespace splitsim
