#include "core/formats/request_trace.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/formats/csv_fields.hpp"
#include "core/output.hpp"

namespace splitsim {

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

}  // namespace

bool parse_utc_time(std::string_view t, double& seconds) {
  // YYYY-MM-DD hh:mm:ss[.fraction]
  if (t.size() < 19 || t[4] != '-' || t[7] != '-' || (t[10] != ' ' && t[10] != 'T') || t[13] != ':' || t[16] != ':')
    return false;
  int64_t y, mo, d, h, mi, s;
  if (!parse_int(t.substr(0, 4), y) || !parse_int(t.substr(5, 2), mo) || !parse_int(t.substr(8, 2), d) ||
      !parse_int(t.substr(11, 2), h) || !parse_int(t.substr(14, 2), mi) || !parse_int(t.substr(17, 2), s))
    return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return false;
  double frac = 0;
  if (t.size() > 19) {
    if (t[19] != '.' || t.size() == 20) return false;
    double scale = 0.1;
    for (char c : t.substr(20)) {
      if (c < '0' || c > '9') return false;
      frac += scale * (c - '0');
      scale /= 10;
    }
  }
  seconds = static_cast<double>(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) + frac;
  return true;
}

RequestTrace read_request_trace(const std::string& path, const std::string& format) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open the trace", path));
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  RequestTrace tr;
  tr.path = path;
  tr.format = format;
  tr.content_hash = fnv1a_hex(text);
  auto fail = [&](int64_t line, const std::string& what) -> void {
    throw InputError(fmt::format("{}:{}: {}", path, line, what));
  };
  const bool azure = format == "azure";
  const std::vector<std::string> header =
      azure ? std::vector<std::string>{"TIMESTAMP", "ContextTokens", "GeneratedTokens"}
            : std::vector<std::string>{"arrival_s", "prompt_tokens", "output_tokens"};
  std::istringstream lines(text);
  std::string line;
  int64_t n = 0;
  double t0 = 0, last = 0;
  bool first = true;
  while (std::getline(lines, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto f = split_csv(line);
    if (n == 1) {
      const bool with_device = !azure && f.size() == 4 && f[3] == "device";
      bool ok = f.size() == header.size() + (with_device ? 1 : 0);
      for (size_t i = 0; ok && i < header.size(); ++i) ok = f[i] == header[i];
      if (!ok)
        fail(1, fmt::format("expected the header \"{}{}\" ({} trace format), got {}",
                            fmt::join(header, ","), azure ? "" : "[,device]", format, quoted_input(line)));
      tr.has_devices = with_device;
      continue;
    }
    if (line.empty()) continue;
    const size_t cols = header.size() + (tr.has_devices ? 1 : 0);
    if (f.size() != cols) fail(n, fmt::format("expected {} fields, got {}", cols, f.size()));
    double t = 0;
    if (azure ? !parse_utc_time(f[0], t) : !parse_double(f[0], t))
      fail(n, fmt::format("expected {} , got {}", azure ? "a time like 2023-11-16 18:15:46.68" : "seconds",
                          quoted_input(f[0])));
    TraceRequest r;
    if (!parse_int(f[1], r.prompt) || r.prompt < 1)
      fail(n, fmt::format("expected a prompt token count >= 1, got {}", quoted_input(f[1])));
    if (!parse_int(f[2], r.output) || r.output < 1)
      fail(n, fmt::format("expected an output token count >= 1, got {}", quoted_input(f[2])));
    if (tr.has_devices && (!parse_int(f[3], r.device) || r.device < 0))
      fail(n, fmt::format("expected a device index >= 0, got {}", quoted_input(f[3])));
    if (first) t0 = last = t, first = false;
    if (t < last)
      fail(n, fmt::format("expected requests sorted by time, got {}, earlier than line {}", quoted_input(f[0]), n - 1));
    last = t;
    r.arrival = t - t0;
    tr.requests.push_back(r);
  }
  if (n == 0) fail(1, "expected a header line, got an empty file");
  if (tr.requests.empty()) fail(n, "expected at least one request after the header");
  return tr;
}

TraceSelection select_requests(const RequestTrace& t, double window_start, double window_end, double time_scale,
                               const std::string& too_long, int64_t max_seq_len) {
  TraceSelection s;
  for (TraceRequest r : t.requests) {
    if (r.arrival < window_start || !(r.arrival < window_end)) continue;
    ++s.in_window;
    if (r.prompt + r.output > max_seq_len) {
      if (too_long == "drop" || max_seq_len < 2) {
        ++s.dropped;
        continue;
      }
      ++s.clipped;
      r.prompt = std::min(r.prompt, max_seq_len - 1);  // the prompt keeps its tail; at least one token is generated
      r.output = std::min(r.output, max_seq_len - r.prompt);
    }
    r.arrival = (r.arrival - window_start) * time_scale;
    s.span = std::max(s.span, r.arrival);
    s.requests.push_back(r);
  }
  return s;
}

}  // namespace splitsim
