#include <catch2/catch.hpp>

#include "core/metrics.hpp"

using namespace splitsim;

TEST_CASE("metrics: nearest-rank percentiles", "[metrics]") {
  std::vector<double> v;
  for (int i = 1; i <= 100; ++i) v.push_back(i);
  Percentiles p = percentiles(v);
  CHECK(p.mean == 50.5);
  CHECK(p.p50 == 50);
  CHECK(p.p90 == 90);
  CHECK(p.p99 == 99);
  CHECK(p.max == 100);
  CHECK(percentiles({}).max == 0);
  CHECK(percentiles({7}).p99 == 7);
}

TEST_CASE("metrics: summary counts completed requests, tokens and server load", "[metrics]") {
  std::vector<RequestRecord> rows(3);
  rows[0].device = 0;
  rows[0].output_tokens = 10;
  rows[0].ttft = 1;
  rows[0].tpot = 0.1;
  rows[0].e2e = 1.9;
  rows[0].bytes_up = 100;
  rows[1].device = 1;
  rows[1].output_tokens = 30;
  rows[1].ttft = 3;
  rows[1].tpot = 0.2;
  rows[1].e2e = 8.8;
  rows[1].bytes_up = 300;
  rows[2].device = 1;
  rows[2].oom = true;
  RunTotals t;
  t.span = 10;
  t.server_busy = 4;
  auto s = summarize(rows, t);
  CHECK(s["devices"] == 2);
  CHECK(s["completed"] == 2);
  CHECK(s["oom_requests"] == 1);
  CHECK(s["generated_tokens"] == 40.0);
  CHECK(s["throughput_tokens_per_s"] == 4.0);
  CHECK(s["server_utilization"] == 0.4);
  CHECK(s["server_busy_per_token_s"] == 0.1);
  CHECK(s["bytes_up_per_token"] == 10.0);
  CHECK(s["ttft_s"]["max"] == 3.0);
}
