// The analytic engine writes the fleet model's estimate in the simulator's output format: one requests.csv
// row per request and summary.json from core/metrics summarize(), plus "engine": "analytic" and, for an
// infeasible configuration, "oom" and "reason".
#include "explorer/analytic_run.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include "core/output.hpp"
#include "sim/workload.hpp"

namespace splitsim {

std::vector<RequestRecord> analytic_requests(const System& sys, const FleetEstimate& f) {
  std::vector<RequestRecord> rows;
  const Scenario& sc = sys.scenario;
  // A trace gives every device its own requests and times (assigned as the simulator assigns them).
  const bool trace = sc.workload.arrival == "trace";
  const FleetRequests replay = trace ? fleet_requests(sc.workload, sc.seed, sc.device_count()) : FleetRequests{};
  int64_t device = 0, id = 0;
  for (size_t g = 0; g < sys.fleet.size(); ++g) {
    const auto& ge = f.groups[g];
    for (int64_t i = 0; i < sys.fleet[g].group.count; ++i, ++device) {
      const int64_t n = trace ? static_cast<int64_t>(replay.count(device)) : sc.workload.requests_per_device;
      for (int64_t r = 0; r < n; ++r) {
        RequestRecord rec;
        rec.request = id++;
        rec.device = device;
        rec.group = sys.fleet[g].group.name;
        rec.arrival = trace                           ? replay.at(device, static_cast<size_t>(r)).arrival
                      : sc.workload.arrival == "closed" ? static_cast<double>(r) * (ge.e2e + sc.workload.think_time)
                                                      : static_cast<double>(r) / std::max(sc.workload.rate, 1e-300);
        rec.prompt_tokens = f.prompt_tokens;
        rec.output_tokens = f.output_tokens;
        rec.edge_memory_peak = ge.alone.edge_memory.total();
        rec.oom = f.infeasible;
        rec.tbt_max = std::numeric_limits<double>::quiet_NaN();  // the fleet model has no per-token times
        if (!rec.oom) {
          rec.ttft = ge.ttft;
          rec.tpot = ge.tpot;
          rec.e2e = ge.e2e;
          rec.bytes_up = ge.alone.bytes_up_total;
          rec.bytes_down = ge.alone.bytes_down_total;
          rec.edge_compute = ge.per_request.edge_compute;
          rec.encode = ge.per_request.encode;
          rec.uplink = ge.per_request.uplink;
          rec.server_queue = ge.server_queue;
          rec.server_compute = ge.per_request.server_compute;
          rec.server_decode = ge.per_request.server_decode;
          rec.downlink = ge.per_request.downlink;
          if (const auto& power = sys.fleet[g].device.power) {
            // Energy through the same estimate the optimizer's screen uses (the simulator charges the real gaps).
            const auto& radio = sys.fleet[g].link.radio;
            const RadioProfile* rp = radio ? &*radio : nullptr;
            const RequestShape q = request_shape(sys, ge);
            rec.edge_energy = estimate_request_energy(*power, rp, q);
            rec.radio_energy = rec.edge_energy - device_energy(*power, q.e2e, q.compute, 0);
          }
        }
        rows.push_back(rec);
      }
    }
  }
  return rows;
}

nlohmann::json analytic_summary(const System& sys, const FleetEstimate& f) {
  RunTotals t;
  t.span = f.infeasible ? 0 : f.span;
  t.servers = sys.server_count();  // f.utilization is per server
  t.server_busy = f.infeasible ? 0 : f.utilization * f.span * static_cast<double>(t.servers);
  t.uplink_utilization = f.infeasible ? 0 : f.uplink_utilization;
  t.server_usd_per_hour = sys.server_usd_per_hour().value_or(t.server_usd_per_hour);
  const std::vector<RequestRecord> rows = analytic_requests(sys, f);
  // Every server busy for the pool's utilization (f.utilization is per server).
  const RunEnergy e = run_energy(sys, t.span, rows, std::vector<double>(static_cast<size_t>(t.servers), f.utilization * t.span));
  t.edge_energy = e.edge;
  t.battery_hours = e.battery_hours;
  t.server_energy = e.server;
  nlohmann::json s = summarize(rows, t);
  s["engine"] = "analytic";
  if (f.infeasible) {
    s["oom"] = true;
    s["reason"] = f.reason;
  }
  return s;
}

void run_analytic(const System& sys, const std::string& out_dir) {
  const CostModel cm(sys);
  const FleetEstimate f = estimate_fleet(cm);
  nlohmann::json config = sys.to_json();
  config["hash"] = sys.hash();
  config["engine"] = "analytic";
  write_run_folder(out_dir, {{"config.json", dump_json(config, 2) + "\n"},
                             {"requests.csv", requests_csv(analytic_requests(sys, f))},
                             {"summary.json", dump_json(analytic_summary(sys, f), 2) + "\n"}});
}

}  // namespace splitsim
