#include "core/overrides.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "core/error.hpp"

namespace splitsim {
namespace {

bool is_key_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'; }

std::vector<std::string> split_top_level_commas(const std::string& s) {
  std::vector<std::string> out;
  int depth = 0;
  bool in_str = false;
  std::string cur;
  for (char c : s) {
    if (c == '"') in_str = !in_str;
    if (!in_str && (c == '[' || c == '{')) ++depth;
    if (!in_str && (c == ']' || c == '}')) --depth;
    if (c == ',' && depth == 0 && !in_str) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

bool parse_number(const std::string& s, double& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc{} && p == s.data() + s.size();
}

// "0:32:4" -> 0,4,...,32 (stop included when reached); integers stay integers. Every bound is checked
// before the point count is computed, and the count in double before it becomes an integer: nan, inf,
// 0:1e300 and a step of 1e-300 are refused, not cast.
std::vector<std::string> expand_range(const std::string& text, const std::string& v) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= v.size(); ++i)
    if (i == v.size() || v[i] == ':') {
      parts.push_back(v.substr(start, i - start));
      start = i + 1;
    }
  constexpr double kMaxPoints = 100000;
  const std::string shape =
      fmt::format("--set {}: expected a range start:stop[:step] with stop >= start and step > 0", text);
  double a, b, step = 1;
  if (parts.size() < 2 || parts.size() > 3 || !parse_number(parts[0], a) || !parse_number(parts[1], b) ||
      (parts.size() == 3 && !parse_number(parts[2], step)))
    throw InputError(shape);
  if (!std::isfinite(a) || !std::isfinite(b) || !std::isfinite(step))
    throw InputError(fmt::format("--set {}: expected a range start:stop[:step] of finite numbers", text));
  if (!(step > 0) || !(b >= a)) throw InputError(shape);
  const double span = (b - a) / step;  // may overflow to inf for huge ranges: still compared, never cast
  if (!(span < kMaxPoints)) throw InputError(fmt::format("--set {}: range has more than 100000 points", text));
  const auto n = static_cast<long>(std::floor(span + 1e-9));
  if (n > 0 && a + step == a)
    throw InputError(fmt::format("--set {}: expected a step that changes the start value, got {}", text, step));
  // Integer texts stay integers only where doubles hold every integer exactly.
  const bool ints = v.find_first_of(".eEnN") == std::string::npos && std::fabs(a) <= 9.0e15 && std::fabs(b) <= 9.0e15;
  std::vector<std::string> out;
  for (long i = 0; i <= n; ++i) {
    double x = a + static_cast<double>(i) * step;
    out.push_back(ints ? fmt::format("{}", static_cast<long long>(std::llround(x))) : fmt::format("{}", x));
  }
  return out;
}

// A control character in a --set text would end the TOML line it is parsed on (and with it silently drop
// the rest of the value) or split an error message.
void expect_one_line(const std::string& text) {
  for (char c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      throw InputError(
          fmt::format("--set {}: expected KEY=VALUE on one line, got a control character", one_line(text)));
}

}  // namespace

Override parse_override(const std::string& text) {
  expect_one_line(text);
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw InputError(fmt::format("--set {}: expected KEY=VALUE[,VALUE...] like split.layer=8", text));
  Override o;
  o.text = text;
  o.key = text.substr(0, eq);
  for (char c : o.key)
    if (!is_key_char(c)) throw InputError(fmt::format("--set {}: expected a dotted key like split.layer", text));
  std::string value = text.substr(eq + 1);
  if (value.empty()) throw InputError(fmt::format("--set {}: expected a value after '='", text));
  bool is_array = !value.empty() && value.front() == '[';
  if (!is_array && value.find(':') != std::string::npos && value.front() != '"') {
    o.values = expand_range(text, value);
  } else if (is_array && value.back() == ']' && split_top_level_commas(value).size() == 1) {
    o.values = {value};
  } else {
    o.values = split_top_level_commas(value);
  }
  for (const auto& v : o.values)
    if (v.empty()) throw InputError(fmt::format("--set {}: expected a value between commas", text));
  return o;
}

std::vector<Override> parse_overrides(const std::vector<std::string>& texts) {
  std::vector<Override> out;
  for (const auto& t : texts) out.push_back(parse_override(t));
  return out;
}

void apply_override(TomlSource& src, const std::string& key, const std::string& raw_value) {
  expect_one_line(key + "=" + raw_value);
  // Parse the value as TOML; a bare word becomes a string so that --set edge.profile=jetson-orin-nano works.
  // Anything that parses to more than the one value (a comment is fine) is taken as a bare word too.
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + raw_value);
  } catch (const toml::parse_error&) {
    parsed = toml::table{{"v", raw_value}};
  }
  if (parsed.size() != 1 || !parsed.contains("v")) parsed = toml::table{{"v", raw_value}};
  toml::node* value = parsed.get("v");
  toml::table* t = &src.root;
  size_t start = 0;
  while (true) {
    size_t dot = key.find('.', start);
    std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty()) throw InputError(fmt::format("--set {}={}: expected a dotted key like split.layer", key, raw_value));
    if (dot == std::string::npos) {
      t->insert_or_assign(part, *value);
      break;
    }
    toml::node* next = t->get(part);
    if (!next) {
      t->insert_or_assign(part, toml::table{});
      next = t->get(part);
    }
    if (!next->is_table())
      throw InputError(fmt::format("--set {}={}: {} is not a table in {}", key, raw_value, key.substr(0, dot), src.origin));
    t = next->as_table();
    start = dot + 1;
  }
  src.overridden.insert(key);
}

void apply_single_overrides(TomlSource& src, const std::vector<Override>& overrides) {
  for (const auto& o : overrides) {
    if (o.values.size() != 1)
      throw InputError(fmt::format("--set {}: expected one value here (lists and ranges are for splitsim sweep)", o.text));
    apply_override(src, o.key, o.values[0]);
  }
}

}  // namespace splitsim
