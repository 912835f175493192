// Per-request records and run summaries, shared by the simulator (sim/) and the real executor (executor/) so
// that their outputs can be compared column by column: requests.csv (one row per request) and summary.json.
//
// The schema lives here once: request_fields() is requests.csv's columns (name, unit, label, description, and the
// record member each reads), latency_stages() the subset the latency breakdown shows, summary_fields() the keys of
// summary.json with their units and which direction is better. Writers, the sweep table, the optimizer and the
// plotting scripts (through fields.json, write_fields_json) read these tables; none keeps its own list.
#pragma once
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <variant>
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
  // s: the longest time between two consecutive generated tokens at the device (a pause the reader sees, e.g. the
  // step that carries a split schedule's KV move); 0 with fewer than two tokens, NaN where not modelled.
  double tbt_max = 0;
  double bytes_up = 0;      // application bytes edge -> server, framing included
  double bytes_down = 0;    // application bytes server -> edge
  double bytes_moved = 0;   // of bytes_up: the KV the edge handed to the server when its split schedule moved
  double edge_memory_peak = 0;  // B
  bool oom = false;         // the configuration does not fit the device: the request did not run
  // The server closed the session (silent longer than server.session_timeout, e.g. through a link outage): the
  // request ended without its remaining tokens; output_tokens is what the device received.
  bool failed = false;
  // Time spent per stage over the whole request (s).
  double edge_compute = 0, encode = 0, uplink = 0, server_queue = 0, server_compute = 0, server_decode = 0,
         downlink = 0;
  // Device energy of the request (J): its idle power over e2e, the compute above idle, and its radio's
  // (transfers, the tails they leave, promotions). NaN when the device or link profile has no power figures.
  double edge_energy = std::numeric_limits<double>::quiet_NaN();
  double radio_energy = std::numeric_limits<double>::quiet_NaN();
};

// One column of requests.csv.
struct RequestField {
  const char* name;         // column name
  const char* unit;         // "s", "B", "tokens" or "" (an id, a name, a flag)
  const char* label;        // short text for plots and tables
  const char* description;
  bool stage;               // a stage of the latency breakdown (time spent per request in one part of the pipeline)
  std::variant<int64_t RequestRecord::*, double RequestRecord::*, std::string RequestRecord::*, bool RequestRecord::*>
      member;
};
std::span<const RequestField> request_fields();
std::vector<const RequestField*> latency_stages();  // the stage fields, in pipeline order
const std::vector<std::string>& request_columns();  // the names of request_fields(), in order

// A record as a JSON array in request_fields() order, and back (the simulator's child-process transport).
nlohmann::json record_to_json(const RequestRecord& r);
RequestRecord record_from_json(const nlohmann::json& j);
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
  int64_t servers = 1;         // in the pool (server_busy is their sum; utilization is per server)
  double server_usd_per_hour = std::numeric_limits<double>::quiet_NaN();  // the pool's price; NaN: unpriced
  // Energy over the span (J), NaN where a profile has no power figures: every device's (idle, compute, radio,
  // think time included) and the pool's (idle plus the busy share of its active power).
  double edge_energy = std::numeric_limits<double>::quiet_NaN();
  double server_energy = std::numeric_limits<double>::quiet_NaN();
  double battery_hours = std::numeric_limits<double>::quiet_NaN();  // the first device group to run flat
};

// US dollars per million generated tokens: the pool's price over the span, per token (NaN when unpriced or
// nothing was generated). The simulator, the analytic run and the optimizer's screen all price through it.
double usd_per_million_tokens(double server_usd_per_hour, double span_s, double tokens);

// A figure for JSON: the number, or null when it is unknown (NaN) or infinite.
nlohmann::json finite_or_null(double v);

// One key of summary.json as summarize() writes it.
struct SummaryField {
  const char* key;
  const char* unit;       // "s", "B", "tokens", "tokens/s", "fraction", "" (counts)
  const char* better;     // "lower", "higher" or "" (a count, a size of the run)
  bool percentiles;       // an object {mean, p50, p90, p99, max} rather than one number
  const char* description;
};
std::span<const SummaryField> summary_fields();

// summary.json: percentiles of TTFT/TPOT/E2E over completed requests, throughput, server load, bytes; exactly
// the keys of summary_fields().
nlohmann::json summarize(const std::vector<RequestRecord>& rows, const RunTotals& totals);

// fields.json: request_fields(), latency_stages() and summary_fields() as data, for scripts that read results.
nlohmann::json fields_json();
void write_fields_json(const std::string& dir);

}  // namespace splitsim
