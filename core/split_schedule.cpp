// Parsing and checking split schedules (split_schedule.hpp).
#include "core/split_schedule.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>

#include "core/error.hpp"

namespace splitsim {

namespace {

constexpr const char* kExpected =
    "CONTEXT:SPLIT pairs like \"0:4,40:2,80:1\" (a band that reacts to the link: EARLIEST-CONTEXT:SPLIT, \"20-40:2\")";

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
    if (b.earliest == b.context) bands[i].earliest = -1;  // a window of nothing: a fixed band
    if (b.earliest >= 0 && (b.earliest > b.context || i == 0))
      throw InputError(fmt::format("{}: band {}: expected its earliest context {} below its context {} (and no window "
                                   "on the first band)", what, i + 1, b.earliest, b.context));
    if (i == 0) continue;
    if (b.context <= bands[i - 1].context)
      throw InputError(fmt::format("{}: band {}: expected a context above the previous band's {}, got {}", what, i + 1,
                                   bands[i - 1].context, b.context));
    if (b.from() <= bands[i - 1].from())
      throw InputError(fmt::format("{}: band {}: expected an earliest context above the previous band's {}, got {}",
                                   what, i + 1, bands[i - 1].from(), b.from()));
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
    bool ok_c = false, ok_s = false, ok_e = true;
    SplitBand b;
    if (colon != std::string_view::npos) {
      std::string_view ctx = item.substr(0, colon);
      if (const size_t dash = ctx.find('-'); dash != std::string_view::npos && dash > 0) {
        b.earliest = parse_int(ctx.substr(0, dash), ok_e);
        ctx = ctx.substr(dash + 1);
      }
      b.context = parse_int(ctx, ok_c);
      b.split = parse_int(item.substr(colon + 1), ok_s);
    }
    if (!ok_c || !ok_s || !ok_e || b.context < 0)
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

bool SplitSchedule::reacts() const {
  for (const SplitBand& b : bands_)
    if (b.earliest >= 0) return true;
  return false;
}

std::string SplitSchedule::to_string() const {
  std::string s;
  for (const SplitBand& b : bands_) {
    if (!s.empty()) s += ',';
    if (b.earliest >= 0) s += fmt::format("{}-", b.earliest);
    s += fmt::format("{}:{}", b.context, b.split);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------- SplitTracker

void SplitTracker::start_request(int64_t position) {
  next_ = 1;
  const auto& bands = schedule_->bands();
  while (next_ < bands.size() && bands[next_].context <= position) ++next_;
}

int64_t SplitTracker::split() const { return schedule_->bands()[next_ - 1].split; }

int64_t SplitTracker::advance(int64_t position) {
  const int64_t before = split();
  const auto& bands = schedule_->bands();
  while (next_ < bands.size()) {
    const SplitBand& b = bands[next_];
    if (b.context > position && !(b.from() <= position && link_good())) break;
    ++next_;
  }
  return before - split();
}

void SplitTracker::observe(double bytes, double seconds) {
  bytes_[head_] = static_cast<float>(bytes);
  seconds_[head_] = static_cast<float>(seconds);
  head_ = (head_ + 1) % SplitReaction::kMaxWindow;
  seen_ = std::min<uint32_t>(seen_ + 1, SplitReaction::kMaxWindow);
}

std::optional<double> SplitTracker::observed_rate() const {
  const auto w = static_cast<uint32_t>(reaction_.window);
  if (w == 0 || seen_ < w) return std::nullopt;
  double b = 0, t = 0;
  for (uint32_t i = 1; i <= w; ++i) {
    const uint32_t j = (head_ + SplitReaction::kMaxWindow - i) % SplitReaction::kMaxWindow;
    b += bytes_[j];
    t += seconds_[j];
  }
  return t > 0 ? b / t : std::numeric_limits<double>::infinity();
}

bool SplitTracker::link_good() const {
  const auto r = observed_rate();
  return r && *r >= reaction_.min_rate;
}

}  // namespace splitsim
