// Sampling is total: the sampler against a plain long-double reference (inverse CDF of the tempered softmax,
// and of the top-p nucleus) on degenerate logits — all equal, one huge, all -inf but one — at temperatures
// from 1e-38 to 1e300 and every kind of top-p; logits no distribution can come from (NaN, +inf, all -inf)
// are a SamplingError, and settings that are not finite are refused by check_sampling.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "executor/sampler.hpp"

using namespace splitsim;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

struct RefPick {
  int32_t token = -1;
  long double margin = 0;  // distance of the coin from the nearest CDF boundary (rounding can flip a pick there)
};

// The reference: the definition written out in long double (probabilities rounded to float, as the sampler
// defines them), with the coin the sampler drew.
RefPick reference(const std::vector<float>& logits, double temperature, double top_p, float coin) {
  const size_t n = logits.size();
  RefPick r;
  if (temperature <= 0) {
    r.token = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    r.margin = 1;
    return r;
  }
  long double mx = -INFINITY;
  for (float x : logits) mx = std::max<long double>(mx, x);
  std::vector<long double> p(n);
  long double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += p[i] = std::exp((static_cast<long double>(logits[i]) - mx) / temperature);
  // The sampler's probabilities are floats (ties at float precision go to the lower index): so are these.
  for (auto& x : p) x = static_cast<float>(x / sum);
  std::vector<int32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  long double mass = 1;
  if (top_p > 0 && top_p < 1) {
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t a, int32_t b) { return p[static_cast<size_t>(a)] > p[static_cast<size_t>(b)]; });
    long double cum = 0;
    size_t keep = n;
    for (size_t i = 0; i < n; ++i) {
      cum += p[static_cast<size_t>(order[i])];
      if (cum > top_p) {
        keep = i + 1;
        break;
      }
    }
    order.resize(keep);
    mass = cum;
  }
  const long double target = static_cast<long double>(coin) * mass;
  long double cdf = 0;
  r.margin = INFINITY;
  for (int32_t i : order) {
    const long double next = cdf + p[static_cast<size_t>(i)];
    r.margin = std::min({r.margin, std::fabs(target - cdf), std::fabs(next - target)});
    if (r.token < 0 && p[static_cast<size_t>(i)] > 0 && target < next) r.token = i;
    cdf = next;
  }
  if (r.token < 0)
    for (int32_t i : order)
      if (p[static_cast<size_t>(i)] > 0) r.token = i;  // the last of positive probability
  return r;
}

// Samples `draws` times with the sampler and with the reference (fed the same coins); every pick whose coin
// is not within rounding of a boundary must agree. Returns how many were compared.
int compare(const std::vector<float>& logits, double temperature, double top_p, int draws = 64) {
  SamplingConfig c{temperature, top_p, 99};
  Sampler s(c), coins(c);
  int compared = 0;
  for (int k = 0; k < draws; ++k) {
    std::vector<float> work = logits;
    const int32_t got = s.sample(work);
    REQUIRE(got >= 0);
    REQUIRE(got < static_cast<int32_t>(logits.size()));
    REQUIRE(std::isfinite(logits[static_cast<size_t>(got)]));  // never a token of probability zero
    const float coin = temperature > 0 ? coins.random_f32() : 0.0f;
    const RefPick want = reference(logits, temperature, top_p, coin);
    if (want.margin < 1e-5L) continue;
    INFO("T " << temperature << " top-p " << top_p << " coin " << coin << " draw " << k);
    CHECK(got == want.token);
    ++compared;
  }
  return compared;
}

const std::vector<double> kTemperatures = {0.0, 1e-38, 1e-6, 0.5, 1.0, 1.5, 1e6, 1e300};
const std::vector<double> kTopP = {-3.0, 0.0, 1e-9, 0.001, 0.5, 0.9, 0.999999, 1.0, 7.0};

}  // namespace

TEST_CASE("sampling: degenerate logits follow the reference at every temperature and top-p", "[sampler]") {
  struct Case {
    const char* name;
    std::vector<float> logits;
  };
  std::vector<Case> cases;
  cases.push_back({"all equal, V = 512", std::vector<float>(512, 0.25f)});
  cases.push_back({"all equal, V = 3", std::vector<float>(3, -7.0f)});
  cases.push_back({"one token", std::vector<float>(1, 3.0f)});
  {
    std::vector<float> v(512, 0.0f);
    v[300] = 1e30f;
    cases.push_back({"one +huge", v});
    std::vector<float> w(64, 1.0f);
    w[5] = std::numeric_limits<float>::max();
    cases.push_back({"one at FLT_MAX", w});
    std::vector<float> x(512, -kInf);
    x[17] = -2.0f;
    cases.push_back({"all -inf but one", x});
    std::vector<float> y(512, -std::numeric_limits<float>::max());
    y[0] = std::numeric_limits<float>::max();
    y[511] = std::numeric_limits<float>::max();
    cases.push_back({"two at FLT_MAX, the rest at -FLT_MAX", y});
    std::vector<float> z(40, -kInf);
    z[3] = 0.0f;
    z[39] = 0.0f;
    cases.push_back({"-inf but two equal, the last one of them", z});
  }
  for (const auto& c : cases) {
    int compared = 0, total = 0;
    for (double t : kTemperatures)
      for (double p : kTopP) {
        INFO(c.name);
        compared += compare(c.logits, t, p);
        total += 64;
      }
    INFO(c.name);
    CHECK(compared > total * 9 / 10);  // only coins at a rounding boundary are left out
  }
}

TEST_CASE("sampling: random logits follow the reference", "[sampler]") {
  std::mt19937_64 rng(5);
  std::normal_distribution<float> g(0.0f, 4.0f);
  int compared = 0, total = 0;
  for (int rep = 0; rep < 20; ++rep) {
    std::vector<float> v(257);
    for (auto& x : v) x = g(rng);
    for (double t : {0.0, 0.7, 1.0, 2.0})
      for (double p : {0.0, 0.5, 0.9, 1.0}) {
        compared += compare(v, t, p, 16);
        total += 16;
      }
  }
  CHECK(compared > total * 9 / 10);
}

TEST_CASE("sampling: logits no distribution comes from are an error, not a crash", "[sampler]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (double t : {0.0, 1.0, 1e-38}) {
    for (double p : {0.0, 0.9}) {
      Sampler s(SamplingConfig{t, p, 3});
      INFO("T " << t << " top-p " << p);
      std::vector<float> with_nan(100, 1.0f);
      with_nan[42] = nan;
      CHECK_THROWS_AS(s.sample(with_nan), SamplingError);
      std::vector<float> all_nan(100, nan);
      CHECK_THROWS_AS(s.sample(all_nan), SamplingError);
      std::vector<float> plus_inf(100, 0.0f);
      plus_inf[0] = kInf;
      CHECK_THROWS_AS(s.sample(plus_inf), SamplingError);
      std::vector<float> all_minus_inf(100, -kInf);
      CHECK_THROWS_AS(s.sample(all_minus_inf), SamplingError);
      std::vector<float> none;
      CHECK_THROWS_AS(s.sample(none), SamplingError);
    }
  }
  try {
    std::vector<float> v(10, 0.0f);
    v[7] = nan;
    Sampler(SamplingConfig{}).sample(v);
  } catch (const SamplingError& e) {
    CHECK_THAT(e.what(), Catch::Matchers::Contains("at token 7"));
  }
}

TEST_CASE("sampling: settings that are not finite are refused by name", "[sampler]") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  for (double t : {nan, inf, -inf, -1.0, -1e-300}) {
    INFO(t);
    CHECK_THROWS_WITH(check_sampling({t, 0.9, 1}, "--temperature", "--top-p"),
                      Catch::Matchers::StartsWith("--temperature: expected"));
  }
  for (double p : {nan, inf, -inf}) {
    INFO(p);
    CHECK_THROWS_WITH(check_sampling({1.0, p, 1}, "hello: temperature", "hello: top_p"),
                      Catch::Matchers::StartsWith("hello: top_p: expected"));
  }
  for (double t : {0.0, 1e-38, 1e300}) CHECK_NOTHROW(check_sampling({t, -5.0, 1}, "t", "p"));
}
