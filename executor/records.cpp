// Writing the executor's measurements in the simulator's shapes, plus tokens.csv for the per-step detail.
#include "executor/records.hpp"

#include "core/error.hpp"
#include "core/output.hpp"

namespace splitsim {

const std::vector<std::string>& token_columns() {
  static const std::vector<std::string> cols = {"request",          "step",       "edge_compute_s", "encode_s",
                                                "uplink_s",         "server_queue_s", "server_compute_s",
                                                "downlink_s",       "decode_s",   "bytes_up",       "bytes_down",
                                                "split",            "bytes_moved"};
  return cols;
}

void write_tokens_csv(const std::string& path, const std::vector<TokenRecord>& rows) {
  write_file_atomic(path, tokens_csv(rows));
}

std::string tokens_csv(const std::vector<TokenRecord>& rows) {
  CsvTable t(token_columns());
  for (const auto& r : rows)
    t.row()
        .add(r.request)
        .add(r.step)
        .add(r.edge_compute)
        .add(r.encode)
        .add(r.uplink)
        .add(r.server_queue)
        .add(r.server_compute)
        .add(r.downlink)
        .add(r.decode)
        .add(r.bytes_up)
        .add(r.bytes_down)
        .add(r.split)
        .add(r.bytes_moved);
  return t.str();
}

nlohmann::json steps_to_json(const std::vector<ServerStep>& steps) {
  auto a = nlohmann::json::array();
  for (const auto& s : steps) a.push_back({s.queue, s.decode, s.compute, s.batch});
  return a;
}

std::vector<ServerStep> steps_from_json(const nlohmann::json& j) {
  std::vector<ServerStep> out;
  if (!j.is_array()) throw InputError("stats frame: expected a list of steps");
  for (const auto& e : j) {
    if (!e.is_array() || e.size() != 4) throw InputError("stats frame: expected [queue, decode, compute, batch] per step");
    out.push_back({e[0].get<double>(), e[1].get<double>(), e[2].get<double>(), e[3].get<int64_t>()});
  }
  return out;
}

void write_run_outputs(const std::string& dir, const nlohmann::json& config, const std::vector<RequestRecord>& requests,
                       const std::vector<TokenRecord>& tokens, const RunTotals& totals, const nlohmann::json& extra) {
  nlohmann::json s = summarize(requests, totals);
  s["executor"] = extra;
  s["config_hash"] = hash_json(config);
  write_run_folder(dir, {{"config.json", dump_json(config, 2) + "\n"},
                         {"requests.csv", requests_csv(requests)},
                         {"tokens.csv", tokens_csv(tokens)},
                         {"summary.json", dump_json(s, 2) + "\n"}});
}

}  // namespace splitsim
