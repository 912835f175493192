// A link's bandwidth over time: hwprofiles/links/<link>.toml names it (trace = "<file>.csv", in
// hwprofiles/links/traces/) and the link's uplink and downlink rates are its peaks.
//
// Format (CSV with a header line): time_s,uplink,downlink — one row per change, times strictly increasing from 0,
// the fractions of the peak rates in force from that time on, in [0, 1] (SimGrid's link bandwidth profiles take
// the same fractions). A fraction of 0 is an outage of that direction: a transfer in flight stalls and resumes when
// the link comes back, as a TCP connection that survives the outage does (nothing is lost, nothing is resent by
// the application). The last row's time is the trace's period and its fractions are unused: the trace repeats.
// A malformed file (wrong header, a non-numeric field, a fraction outside [0, 1], time not increasing, fewer
// than two rows, a direction that is never up) is an InputError naming the file and line.
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
  // Time average of 1 / fraction over the time the direction is up (fraction > 0).
  double mean_inverse(bool uplink) const;
  // Mean wait for the direction to come up, from a random time: sum of (outage length)^2 / 2 over the period.
  double mean_outage_wait(bool uplink) const;
  bool goes_down() const;                          // a fraction of 0 in either direction
  // Seconds to carry `bytes` from `start` at min(peak x fraction(t), cap) B/s.
  double transfer_time(bool uplink, double start, double bytes, double peak, double cap) const;
};

LinkTrace read_link_trace(const std::string& path);

}  // namespace splitsim
