#include <catch2/catch.hpp>

#include <cmath>

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
  // Unpriced: the cost keys are null, not zero.
  CHECK(s["server_usd_per_hour"].is_null());
  CHECK(s["usd_per_million_tokens"].is_null());
  // $3.60/h for 10 s is 1 cent; 40 tokens: 0.01 / 40 * 1e6 = $250 per million.
  t.server_usd_per_hour = 3.6;
  s = summarize(rows, t);
  CHECK(s["server_usd_per_hour"] == 3.6);
  CHECK(s["usd_per_million_tokens"].get<double>() == Approx(250.0));
  CHECK(std::isnan(usd_per_million_tokens(3.6, 10, 0)));
}

TEST_CASE("metrics: the field tables are what the writers write", "[metrics][schema]") {
  RequestRecord r;
  r.request = 7, r.device = 3, r.group = "g", r.arrival = 0.5, r.prompt_tokens = 11, r.output_tokens = 5;
  r.ttft = 0.1, r.tpot = 0.02, r.e2e = 0.18, r.bytes_up = 100, r.bytes_down = 20, r.edge_memory_peak = 1e9, r.oom = true;
  r.edge_compute = 1, r.encode = 2, r.uplink = 3, r.server_queue = 4, r.server_compute = 5, r.server_decode = 6;
  r.downlink = 7;
  // Every field round-trips through the JSON transport, so every member of the record is in the table.
  const RequestRecord back = record_from_json(record_to_json(r));
  CHECK(requests_csv({back}) == requests_csv({r}));
  CHECK(record_to_json(r).size() == request_fields().size());
  // The stages sum to the per-stage columns, in pipeline order.
  std::vector<std::string> stages;
  for (const RequestField* f : latency_stages()) stages.push_back(f->name);
  CHECK(stages == std::vector<std::string>{"edge_compute_s", "encode_s", "uplink_s", "server_queue_s",
                                           "server_compute_s", "server_decode_s", "downlink_s"});
  // summary.json has exactly the keys of summary_fields(), in that order.
  const nlohmann::json s = summarize({r}, RunTotals{});
  std::vector<std::string> keys, table;
  for (const SummaryField& f : summary_fields()) {
    table.push_back(f.key);
    CHECK(s.at(f.key).is_object() == f.percentiles);
  }
  for (auto it = s.begin(); it != s.end(); ++it) keys.push_back(it.key());
  std::sort(keys.begin(), keys.end());
  std::vector<std::string> sorted = table;
  std::sort(sorted.begin(), sorted.end());
  CHECK(keys == sorted);
  const nlohmann::json fj = fields_json();
  CHECK(fj["stages"].size() == stages.size());
  CHECK(fj["summary"].size() == table.size());
}
