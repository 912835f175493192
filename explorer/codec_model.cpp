// Expected codec statistics from a Gaussian-bulk-plus-massive-channels activation model.
//
// TS removes entries beyond the threshold (exact, as fp16 outlier pairs); TAB-Q then picks per token the
// smallest allowed bit-width b with Delta^2/12 <= eps * var, Delta = range / (2^b - 1). The expected range of
// the dense part is twice the smaller of the threshold and the largest of d Gaussian samples
// (sigma * sqrt(2 ln d)); massive channels stay in the dense part when the threshold does not catch them.
// Every token of the model is alike, so the expected bits are one allowed value (real activations mix
// several: measured statistics replace these once a codec run provides them).
#include "explorer/codec_model.hpp"

#include <algorithm>
#include <cmath>

namespace splitsim {
namespace {

double two_sided_tail(double k) { return std::erfc(k / std::sqrt(2.0)); }  // P(|z| > k)

// k with P(|z| > k) = q, by bisection.
double tail_quantile(double q) {
  double lo = 0, hi = 40;
  for (int i = 0; i < 100; ++i) {
    double mid = 0.5 * (lo + hi);
    (two_sided_tail(mid) > q ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

struct Dense {
  double half_range;      // in units of sigma
  double variance;        // in units of sigma^2
  double outliers;        // per token
};

Dense after_ts(const CodecConfig& c, int64_t d, const ActivationModel& a) {
  const double dd = static_cast<double>(d);
  const double gauss_max = std::sqrt(2.0 * std::log(std::max(2.0, dd)));
  const double m = a.massive_channels, M = a.massive_ratio;
  // Threshold in units of the bulk sigma; infinite for "none".
  double k = INFINITY;
  if (c.ts_mode == "fixed") {
    k = c.ts_threshold / std::max(a.sigma, 1e-30);
  } else if (c.ts_mode == "sigma") {
    const double sigma_t = std::sqrt(1.0 + m * M * M / dd);  // the massive channels inflate the token's sigma
    k = c.ts_threshold * sigma_t;
  } else if (c.ts_mode == "percentile") {
    // The top fraction rho of |x| is removed: massive channels first, then the Gaussian tail.
    const double n_out = c.ts_threshold * dd;
    k = n_out <= m ? (n_out >= 1 ? M : INFINITY) : tail_quantile(std::min(1.0, (n_out - m) / dd));
  }
  Dense r;
  const bool massive_out = M > k;
  r.outliers = (massive_out ? m : 0.0) + (std::isfinite(k) ? dd * two_sided_tail(k) : 0.0);
  r.half_range = std::min(k, gauss_max);
  if (!massive_out) r.half_range = std::max(r.half_range, M);
  r.variance = massive_out ? 1.0 : 1.0 + m * M * M / dd;
  return r;
}

}  // namespace

CodecEstimate tabq_stats(const CodecConfig& c, int64_t d, const ActivationModel& a) {
  Dense ds = after_ts(c, d, a);
  CodecEstimate s;
  s.outliers_per_token = ds.outliers;
  std::vector<int64_t> bits = c.tabq_bits;
  std::sort(bits.begin(), bits.end());
  const double range = 2 * ds.half_range;
  auto mse = [&](int64_t b) {
    double delta = range / (std::pow(2.0, static_cast<double>(b)) - 1);
    return delta * delta / 12;
  };
  int64_t chosen = bits.empty() ? 8 : bits.back();
  for (auto b : bits)
    if (mse(b) <= c.tabq_eps * ds.variance) {
      chosen = b;
      break;
    }
  s.mean_bits = static_cast<double>(chosen);
  s.relative_mse = mse(chosen);  // relative to the bulk variance (sigma = 1)
  return s;
}

CodecEstimate uniform_stats(int bits, int64_t d, const ActivationModel& a) {
  CodecConfig none;
  none.ts_mode = "none";
  Dense ds = after_ts(none, d, a);
  CodecEstimate s;
  s.mean_bits = bits;
  double delta = 2 * ds.half_range / (std::pow(2.0, bits) - 1);
  s.relative_mse = delta * delta / 12;
  return s;
}

}  // namespace splitsim
