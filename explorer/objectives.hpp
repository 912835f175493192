// The optimizer's metrics in one table: the names an objective or a constraint may use, the summary.json key a
// verified run reports each under (core/metrics.hpp's summary_fields), the unit a constraint's value is read in
// and a value is printed in, and which direction is better. The screen, the ranking, the constraint parser, the
// diagnosis and the output tables all read it.
#pragma once
#include <span>
#include <string>
#include <string_view>

#include "explorer/optimizer.hpp"

namespace splitsim {

enum class MetricUnit { bytes, time, time_per_token, tokens_per_s, fraction, count, usd_per_hour, usd, energy };

struct OptimizerMetric {
  const char* name;
  const char* summary_key;  // the key in a verified run's summary.json; "" when only the screen knows it
  MetricUnit unit;
  bool lower_is_better;
  bool objective;    // may be --objective (edge memory and accuracy are constraints and tie-breaks only)
  bool percentiles;  // a constraint may add .p50/.p90/.p99/.max (verified runs report them)
  double (*analytic)(const Candidate&);  // the screen's value
};

constexpr size_t kOptimizerMetricCount = 12;
std::span<const OptimizerMetric> optimizer_metrics();  // kOptimizerMetricCount entries
// The entry for a metric name, with or without a percentile suffix; nullptr when unknown.
const OptimizerMetric* find_metric(std::string_view metric);
size_t metric_index(const OptimizerMetric& m);  // its position in optimizer_metrics()
std::string objective_names();  // "tpot, ttft, e2e, server_load, throughput"
std::string metric_text(const OptimizerMetric& m, double v);  // 150 ms, 8 GiB, 100.0 tokens/s, 0.500%, $1.73/h

}  // namespace splitsim
