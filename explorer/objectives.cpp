#include "explorer/objectives.hpp"

#include <fmt/format.h>

#include "core/metrics.hpp"
#include "core/units.hpp"

namespace splitsim {

namespace {

const OptimizerMetric kMetrics[] = {
    {"ttft", "ttft_s", MetricUnit::time, true, true, true, [](const Candidate& c) { return c.ttft; }},
    {"tpot", "tpot_s", MetricUnit::time, true, true, true, [](const Candidate& c) { return c.tpot; }},
    {"e2e", "e2e_s", MetricUnit::time, true, true, true, [](const Candidate& c) { return c.e2e; }},
    {"server_load", "server_busy_per_token_s", MetricUnit::time_per_token, true, true, false,
     [](const Candidate& c) { return c.server_load; }},
    {"throughput", "throughput_tokens_per_s", MetricUnit::tokens_per_s, false, true, false,
     [](const Candidate& c) { return c.throughput; }},
    {"edge_memory", "", MetricUnit::bytes, true, false, false, [](const Candidate& c) { return c.edge_memory; }},
    {"accuracy_loss", "", MetricUnit::fraction, true, false, false,
     [](const Candidate& c) { return c.accuracy.loss; }},
    // The fewest servers that meet the latency constraints (vary server.count).
    {"servers", "", MetricUnit::count, true, true, false, [](const Candidate& c) { return c.servers; }},
    // The pool's on-demand price (vary server.count and server.profile), and that price per million tokens.
    {"server_cost", "server_usd_per_hour", MetricUnit::usd_per_hour, true, true, false,
     [](const Candidate& c) { return c.server_usd_per_hour; }},
    {"token_cost", "usd_per_million_tokens", MetricUnit::usd, true, true, false,
     [](const Candidate& c) { return usd_per_million_tokens(c.server_usd_per_hour, 1.0, c.throughput); }},
    // The device's energy per generated token (J): battery life.
    {"edge_energy", "edge_energy_per_token_j", MetricUnit::energy, true, true, false,
     [](const Candidate& c) { return c.edge_energy_per_token; }},
    // The longest time between two tokens of a request (a move's pause; verified runs: its median over requests).
    {"pause", "tbt_max_s", MetricUnit::time, true, true, true, [](const Candidate& c) { return c.pause; }},
};

static_assert(std::size(kMetrics) == kOptimizerMetricCount);

}  // namespace

std::span<const OptimizerMetric> optimizer_metrics() { return kMetrics; }

const OptimizerMetric* find_metric(std::string_view metric) {
  const std::string_view base = metric.substr(0, metric.find('.'));
  for (const auto& m : kMetrics)
    if (base == m.name) return &m;
  return nullptr;
}

size_t metric_index(const OptimizerMetric& m) { return static_cast<size_t>(&m - kMetrics); }

std::string objective_names() {
  std::string s;
  for (const auto& m : kMetrics) {
    if (!m.objective) continue;
    if (!s.empty()) s += ", ";
    s += m.name;
  }
  return s;
}

std::string metric_text(const OptimizerMetric& m, double v) {
  switch (m.unit) {
    case MetricUnit::bytes: return format_bytes(v);
    case MetricUnit::tokens_per_s: return fmt::format("{:.1f} tokens/s", v);
    case MetricUnit::fraction: return fmt::format("{:.3f}%", 100 * v);
    case MetricUnit::time_per_token: return format_time(v) + "/token";
    case MetricUnit::count: return fmt::format("{:.0f}", v);
    case MetricUnit::usd_per_hour: return fmt::format("${:.2f}/h", v);
    case MetricUnit::usd: return fmt::format("${:.4g}", v);
    case MetricUnit::energy: return format_energy(v);
    case MetricUnit::time: break;
  }
  return format_time(v);
}

}  // namespace splitsim
