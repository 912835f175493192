#include "core/formats/csv_fields.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

namespace splitsim {

bool parse_int(std::string_view s, int64_t& v) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parse_double(std::string_view s, double& v) {
  if (s.empty()) return false;
  const std::string t(s);
  char* end = nullptr;
  v = std::strtod(t.c_str(), &end);
  return end == t.c_str() + t.size() && std::isfinite(v);
}

std::vector<std::string_view> split_csv(std::string_view line) {
  std::vector<std::string_view> f;
  size_t a = 0;
  while (true) {
    const size_t b = line.find(',', a);
    f.push_back(line.substr(a, b == std::string_view::npos ? std::string_view::npos : b - a));
    if (b == std::string_view::npos) break;
    a = b + 1;
  }
  for (auto& x : f) {
    while (!x.empty() && (x.front() == ' ' || x.front() == '\t')) x.remove_prefix(1);
    while (!x.empty() && (x.back() == ' ' || x.back() == '\t' || x.back() == '\r')) x.remove_suffix(1);
  }
  return f;
}

}  // namespace splitsim
