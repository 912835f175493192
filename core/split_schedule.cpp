// Parsing and checking split schedules (split_schedule.hpp).
#include "core/split_schedule.hpp"

#include <fmt/format.h>

#include <charconv>

#include "core/error.hpp"

namespace splitsim {

namespace {

constexpr const char* kExpected = "CONTEXT:SPLIT pairs like \"0:4,40:2,80:1\"";

int64_t parse_int(std::string_view s, bool& ok) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  ok = ec == std::errc() && p == s.data() + s.size() && !s.empty();
  return v;
}

}  // namespace

SplitSchedule SplitSchedule::from_bands(std::vector<SplitBand> bands, int64_t n_layers, const std::string& what) {
  if (bands.empty()) throw InputError(fmt::format("{}: expected at least one band ({}), got none", what, kExpected));
  if (bands.front().context != 0)
    throw InputError(fmt::format("{}: expected the first band to start at context 0, got {}", what,
                                 bands.front().context));
  for (size_t i = 0; i < bands.size(); ++i) {
    const SplitBand& b = bands[i];
    if (b.split < 0 || b.split > n_layers)
      throw InputError(fmt::format("{}: band {}: expected a split in 0..{}, got {}", what, i + 1, n_layers, b.split));
    if (i == 0) continue;
    if (b.context <= bands[i - 1].context)
      throw InputError(fmt::format("{}: band {}: expected a context above the previous band's {}, got {}", what, i + 1,
                                   bands[i - 1].context, b.context));
    if (b.split >= bands[i - 1].split)
      throw InputError(fmt::format(
          "{}: band {}: expected a split below the previous band's {} (layers move to the server only), got {}", what,
          i + 1, bands[i - 1].split, b.split));
  }
  return SplitSchedule(std::move(bands));
}

SplitSchedule SplitSchedule::parse(const std::string& text, int64_t n_layers, const std::string& what) {
  std::vector<SplitBand> bands;
  std::string_view rest = text;
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    const size_t colon = item.find(':');
    bool ok_c = false, ok_s = false;
    SplitBand b;
    if (colon != std::string_view::npos) {
      b.context = parse_int(item.substr(0, colon), ok_c);
      b.split = parse_int(item.substr(colon + 1), ok_s);
    }
    if (!ok_c || !ok_s || b.context < 0)
      throw InputError(fmt::format("{}: expected {}, got {}", what, kExpected, quoted_input(text)));
    bands.push_back(b);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return from_bands(std::move(bands), n_layers, what);
}

int64_t SplitSchedule::at(int64_t position) const {
  int64_t s = bands_.front().split;
  for (const SplitBand& b : bands_) {
    if (b.context > position) break;
    s = b.split;
  }
  return s;
}

std::string SplitSchedule::to_string() const {
  std::string s;
  for (const SplitBand& b : bands_) s += fmt::format("{}{}:{}", s.empty() ? "" : ",", b.context, b.split);
  return s;
}

}  // namespace splitsim
