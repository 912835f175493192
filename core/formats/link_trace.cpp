#include "core/formats/link_trace.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/formats/csv_fields.hpp"
#include "core/output.hpp"

namespace splitsim {

namespace {
// The row in force at t, and t's start of period.
size_t row_at(const LinkTrace& tr, double t, double& base) {
  base = std::floor(t / tr.period) * tr.period;
  double in = t - base;
  if (in >= tr.period) in -= tr.period, base += tr.period;  // float edge of floor
  const auto it = std::upper_bound(tr.time.begin(), tr.time.end(), in);
  return static_cast<size_t>(it - tr.time.begin()) - 1;
}
}  // namespace

double LinkTrace::factor(bool uplink, double t) const {
  double base = 0;
  const size_t i = row_at(*this, std::max(0.0, t), base);
  return uplink ? up[i] : down[i];
}

double LinkTrace::next_change(double t) const {
  double base = 0;
  const size_t i = row_at(*this, std::max(0.0, t), base);
  return base + (i + 1 < time.size() ? time[i + 1] : period);
}

double LinkTrace::mean_inverse(bool uplink) const {
  double s = 0, on = 0;
  for (size_t i = 0; i < time.size(); ++i) {
    const double f = uplink ? up[i] : down[i], len = (i + 1 < time.size() ? time[i + 1] : period) - time[i];
    if (f <= 0) continue;
    s += len / f;
    on += len;
  }
  return goes_down() ? s / on : s / period;  // (the period itself when always up: bit for bit as before)
}

double LinkTrace::mean_outage_wait(bool uplink) const {
  // Outages are runs of zero rows; the trace repeats, so a run at the end continues one at the start.
  std::vector<double> runs;
  double run = 0;
  for (size_t i = 0; i < time.size(); ++i) {
    const double f = uplink ? up[i] : down[i], len = (i + 1 < time.size() ? time[i + 1] : period) - time[i];
    if (f <= 0) {
      run += len;
    } else if (run > 0) {
      runs.push_back(run);
      run = 0;
    }
  }
  if (run > 0) {
    if (!runs.empty() && (uplink ? up[0] : down[0]) <= 0) runs.front() += run;
    else runs.push_back(run);
  }
  double s = 0;
  for (double r : runs) s += r * r / 2;
  return s / period;
}

bool LinkTrace::goes_down() const {
  for (size_t i = 0; i < time.size(); ++i)
    if (up[i] <= 0 || down[i] <= 0) return true;
  return false;
}

double LinkTrace::transfer_time(bool uplink, double start, double bytes, double peak, double cap) const {
  double t = start, left = bytes;
  while (true) {
    const double rate = std::min(peak * factor(uplink, t), cap);
    const double next = next_change(t);
    if (rate * (next - t) >= left) return t + left / rate - start;
    left -= rate * (next - t);
    t = next;
  }
}

LinkTrace read_link_trace(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open the link trace", path));
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  LinkTrace tr;
  tr.path = path;
  tr.content_hash = fnv1a_hex(text);
  auto fail = [&](int64_t line, const std::string& what) -> void {
    throw InputError(fmt::format("{}:{}: {}", path, line, what));
  };
  std::istringstream lines(text);
  std::string line;
  int64_t n = 0, rows = 0;
  double last = 0;
  while (std::getline(lines, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto f = split_csv(line);
    if (n == 1) {
      if (f.size() != 3 || f[0] != "time_s" || f[1] != "uplink" || f[2] != "downlink")
        fail(1, fmt::format("expected the header \"time_s,uplink,downlink\", got {}", quoted_input(line)));
      continue;
    }
    if (line.empty()) continue;
    if (f.size() != 3) fail(n, fmt::format("expected 3 fields, got {}", f.size()));
    double t = 0, u = 0, d = 0;
    if (!parse_double(f[0], t) || t < 0) fail(n, fmt::format("expected seconds >= 0, got {}", quoted_input(f[0])));
    if (rows == 0 && t != 0) fail(n, fmt::format("expected the first change at time 0, got {}", quoted_input(f[0])));
    if (rows > 0 && !(t > last))
      fail(n, fmt::format("expected times increasing, got {} after {}", quoted_input(f[0]), last));
    for (const auto& [field, v] : {std::pair{f[1], &u}, std::pair{f[2], &d}})
      if (!parse_double(field, *v) || !(*v >= 0 && *v <= 1))
        fail(n, fmt::format("expected a fraction of the peak rate in [0, 1] (0: down), got {}", quoted_input(field)));
    tr.time.push_back(t), tr.up.push_back(u), tr.down.push_back(d);
    last = t;
    ++rows;
  }
  if (n == 0) fail(1, "expected a header line, got an empty file");
  if (rows < 2) fail(n, "expected at least two rows (a change at 0 and the period's end)");
  tr.period = tr.time.back();
  tr.time.pop_back(), tr.up.pop_back(), tr.down.pop_back();
  for (const auto* dir : {&tr.up, &tr.down})
    if (std::all_of(dir->begin(), dir->end(), [](double f) { return f <= 0; }))
      fail(n, fmt::format("expected the {} to be up for part of the period, got 0 in every row",
                          dir == &tr.up ? "uplink" : "downlink"));
  return tr;
}

}  // namespace splitsim
