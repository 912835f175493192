#include "core/metrics.hpp"

#include <algorithm>
#include <cmath>

#include "core/output.hpp"

namespace splitsim {

const std::vector<std::string>& request_columns() {
  static const std::vector<std::string> cols = {
      "request",        "device",        "group",     "arrival_s",       "prompt_tokens",  "output_tokens",
      "ttft_s",         "tpot_s",        "e2e_s",     "bytes_up",        "bytes_down",     "edge_memory_peak_bytes",
      "oom",            "edge_compute_s", "encode_s", "uplink_s",        "server_queue_s", "server_compute_s",
      "server_decode_s", "downlink_s"};
  return cols;
}

void write_requests_csv(const std::string& path, const std::vector<RequestRecord>& rows) {
  write_file_atomic(path, requests_csv(rows));
}

std::string requests_csv(const std::vector<RequestRecord>& rows) {
  CsvTable t(request_columns());
  for (const auto& r : rows) {
    t.row()
        .add(r.request)
        .add(r.device)
        .add(r.group)
        .add(r.arrival)
        .add(r.prompt_tokens)
        .add(r.output_tokens)
        .add(r.ttft)
        .add(r.tpot)
        .add(r.e2e)
        .add(r.bytes_up)
        .add(r.bytes_down)
        .add(r.edge_memory_peak)
        .add(r.oom)
        .add(r.edge_compute)
        .add(r.encode)
        .add(r.uplink)
        .add(r.server_queue)
        .add(r.server_compute)
        .add(r.server_decode)
        .add(r.downlink);
  }
  return t.str();
}

nlohmann::json Percentiles::to_json() const {
  return {{"mean", mean}, {"p50", p50}, {"p90", p90}, {"p99", p99}, {"max", max}};
}

Percentiles percentiles(std::vector<double> v) {
  Percentiles p;
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto rank = [&](double q) {
    size_t k = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::min(v.size() - 1, k == 0 ? 0 : k - 1)];
  };
  double sum = 0;
  for (double x : v) sum += x;
  p.mean = sum / static_cast<double>(v.size());
  p.p50 = rank(0.50);
  p.p90 = rank(0.90);
  p.p99 = rank(0.99);
  p.max = v.back();
  return p;
}

nlohmann::json summarize(const std::vector<RequestRecord>& rows, const RunTotals& totals) {
  std::vector<double> ttft, tpot, e2e;
  double tokens = 0, up = 0, down = 0, up_decode_tokens = 0;
  int64_t oom = 0, completed = 0;
  std::vector<int64_t> devices;
  for (const auto& r : rows) {
    devices.push_back(r.device);
    if (r.oom) {
      ++oom;
      continue;
    }
    ++completed;
    ttft.push_back(r.ttft);
    if (r.output_tokens > 1) tpot.push_back(r.tpot);
    e2e.push_back(r.e2e);
    tokens += static_cast<double>(r.output_tokens);
    up += r.bytes_up;
    down += r.bytes_down;
    up_decode_tokens += static_cast<double>(r.output_tokens);
  }
  std::sort(devices.begin(), devices.end());
  devices.erase(std::unique(devices.begin(), devices.end()), devices.end());
  return {
      {"devices", devices.size()},
      {"requests", rows.size()},
      {"completed", completed},
      {"oom_requests", oom},
      {"generated_tokens", tokens},
      {"ttft_s", percentiles(ttft).to_json()},
      {"tpot_s", percentiles(tpot).to_json()},
      {"e2e_s", percentiles(e2e).to_json()},
      {"throughput_tokens_per_s", totals.span > 0 ? tokens / totals.span : 0.0},
      {"server_busy_s", totals.server_busy},
      {"server_utilization", totals.span > 0 ? totals.server_busy / totals.span : 0.0},
      {"server_busy_per_token_s", tokens > 0 ? totals.server_busy / tokens : 0.0},
      {"uplink_utilization", totals.uplink_utilization},
      {"bytes_up_total", up},
      {"bytes_down_total", down},
      {"bytes_up_per_token", up_decode_tokens > 0 ? up / up_decode_tokens : 0.0},
      {"span_s", totals.span},
      {"wall_s", totals.wall},
      {"events", totals.events},
  };
}

}  // namespace splitsim
