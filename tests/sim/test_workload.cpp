// Workload samplers: inverse CDFs against known values, seeded determinism, per-device independence.
#include <catch2/catch.hpp>

#include <cmath>

#include "sim/workload.hpp"

using namespace splitsim;

TEST_CASE("inverse normal CDF matches tabulated quantiles", "[sim][workload]") {
  CHECK(inverse_normal_cdf(0.5) == Approx(0.0).margin(1e-15));
  CHECK(inverse_normal_cdf(0.975) == Approx(1.959963984540054).epsilon(1e-13));
  CHECK(inverse_normal_cdf(0.001) == Approx(-3.090232306167813).epsilon(1e-13));
  CHECK(inverse_normal_cdf(1e-10) == Approx(-6.361340902404056).epsilon(1e-12));
}

TEST_CASE("samplers have the right means and bounds", "[sim][workload]") {
  Rng rng(42);
  double sum = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) sum += rng.exponential(4.0);
  CHECK(sum / n == Approx(0.25).epsilon(0.01));
  LengthDist u{"uniform", 0, 10, 20};
  int64_t lo = 100, hi = 0;
  double s = 0;
  for (int i = 0; i < n; ++i) {
    int64_t v = sample_length(rng, u);
    lo = std::min(lo, v), hi = std::max(hi, v), s += static_cast<double>(v);
  }
  CHECK(lo == 10);
  CHECK(hi == 20);
  CHECK(s / n == Approx(15.0).epsilon(0.005));
  LengthDist ln{"lognormal", 0, 1, 100000, std::log(100.0), 0.5};
  std::vector<int64_t> v;
  for (int i = 0; i < 20001; ++i) v.push_back(sample_length(rng, ln));
  std::nth_element(v.begin(), v.begin() + 10000, v.end());
  CHECK(static_cast<double>(v[10000]) == Approx(100.0).epsilon(0.03));  // median exp(mu)
}

TEST_CASE("device request streams are seeded per device", "[sim][workload]") {
  Workload w;
  w.arrival = "poisson";
  w.rate = 0.5;
  w.requests_per_device = 5;
  w.prompt_tokens = {"uniform", 0, 1, 500};
  auto a = device_requests(w, 7, 3), b = device_requests(w, 7, 3), c = device_requests(w, 7, 4),
       d = device_requests(w, 8, 3);
  REQUIRE(a.size() == 5);
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].arrival == b[i].arrival);
    CHECK(a[i].prompt == b[i].prompt);
    if (i > 0) CHECK(a[i].arrival > a[i - 1].arrival);
  }
  CHECK(a[0].arrival != c[0].arrival);
  CHECK(a[0].arrival != d[0].arrival);
  w.arrival = "closed";
  w.think_time = 2;
  auto e = device_requests(w, 7, 3);
  CHECK(e[0].arrival >= 0);
  CHECK(e[0].arrival < 2);
}
