// A link's bandwidth over time: hwprofiles/links/<link>.toml names it (trace = "<file>.csv", in
// hwprofiles/links/traces/) and the link's uplink and downlink rates are its peaks.
//
// Format (CSV with a header line): time_s,uplink,downlink — one row per change, times strictly increasing from 0,
// the fractions of the peak rates in force from that time on, in (0, 1] (SimGrid's link bandwidth profiles take
// the same fractions). The last row's time is the trace's period and its fractions are unused: the trace repeats.
// Every device of the link follows the same trace at the same time (its fading is the area's, not the device's).
// A malformed file (wrong header, a non-numeric field, a fraction outside (0, 1], time not increasing, fewer
// than two rows) is an InputError naming the file and line.
#pragma once
#include <string>
#include <vector>

namespace splitsim {

struct LinkTrace {
  std::string path, content_hash;
  std::vector<double> time, up, down;  // the changes (all rows but the last); time[0] == 0
  double period = 0;                   // s

  double factor(bool uplink, double t) const;      // the fraction in force at t (t >= 0)
  double next_change(double t) const;              // the first change strictly after t
  double mean_inverse(bool uplink) const;          // time average of 1 / fraction over a period
  // Seconds to carry `bytes` from `start` at min(peak x fraction(t), cap) B/s.
  double transfer_time(bool uplink, double start, double bytes, double peak, double cap) const;
};

LinkTrace read_link_trace(const std::string& path);

}  // namespace splitsim
