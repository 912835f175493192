// Per-request records and run summaries, shared by the simulator (sim/) and the real executor (executor/) so
// that their outputs can be compared column by column: requests.csv (one row per request) and summary.json.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace splitsim {

struct RequestRecord {
  int64_t request = 0;      // index in completion-independent order (device-major, then per-device sequence)
  int64_t device = 0;
  std::string group;        // fleet group name
  double arrival = 0;       // s since start
  int64_t prompt_tokens = 0;
  int64_t output_tokens = 0;
  double ttft = 0;          // s from arrival to the first generated token at the device
  double tpot = 0;          // s per output token after the first: (e2e - ttft) / (output_tokens - 1)
  double e2e = 0;           // s from arrival to the last token at the device
  double bytes_up = 0;      // application bytes edge -> server, framing included
  double bytes_down = 0;    // application bytes server -> edge
  double edge_memory_peak = 0;  // B
  bool oom = false;         // the configuration does not fit the device: the request did not run
  // Time spent per stage over the whole request (s).
  double edge_compute = 0, encode = 0, uplink = 0, server_queue = 0, server_compute = 0, server_decode = 0,
         downlink = 0;
};

// The header of requests.csv; write_requests_csv writes rows in this column order.
const std::vector<std::string>& request_columns();
void write_requests_csv(const std::string& path, const std::vector<RequestRecord>& rows);
std::string requests_csv(const std::vector<RequestRecord>& rows);  // the file's text

struct Percentiles {
  double mean = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;
  nlohmann::json to_json() const;
};
Percentiles percentiles(std::vector<double> values);  // nearest-rank percentiles; zeros when empty

// Run-level figures that only the runner knows.
struct RunTotals {
  double span = 0;             // s from the first arrival to the last completion (simulated or measured)
  double server_busy = 0;      // s the server spent computing
  double uplink_utilization = 0;  // mean fraction of access uplink capacity used
  double wall = 0;             // s of wall-clock time the run took
  int64_t events = 0;          // simulation events / executor steps
};

// summary.json: percentiles of TTFT/TPOT/E2E over completed requests, throughput, server load, bytes.
nlohmann::json summarize(const std::vector<RequestRecord>& rows, const RunTotals& totals);

}  // namespace splitsim
