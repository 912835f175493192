// The sweep's table: one row per point (its varied keys, status, and its summary's metrics flattened), the
// header in a stable order (core/metrics.hpp's summary_fields), and the merge of shard tables.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/error.hpp"
#include "core/metrics.hpp"
#include "core/output.hpp"
#include "explorer/csv_read.hpp"
#include "explorer/sweep.hpp"

namespace splitsim {

namespace fs = std::filesystem;

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(fmt::format("{}: cannot open file", path));
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: malformed JSON: {}", path, e.what()));
  }
}

namespace {

const std::vector<std::string>& leading_columns() {
  static const std::vector<std::string> c = {"point", "case"};
  return c;
}
const std::vector<std::string>& status_columns() {
  static const std::vector<std::string> c = {"status", "reason", "hash", "engine"};
  return c;
}
// summary_fields() in their order, percentiles flattened (ttft_s.mean, ttft_s.p50, ...).
const std::vector<std::string>& known_metrics() {
  static const std::vector<std::string> m = [] {
    std::vector<std::string> v;
    for (const SummaryField& f : summary_fields()) {
      if (!f.percentiles) {
        v.push_back(f.key);
        continue;
      }
      for (const char* p : {"mean", "p50", "p90", "p99", "max"}) v.push_back(fmt::format("{}.{}", f.key, p));
    }
    return v;
  }();
  return m;
}

void flatten_json(const nlohmann::json& j, const std::string& prefix, SweepRow& row) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
    const auto& v = it.value();
    if (v.is_object())
      flatten_json(v, key, row);
    else if (v.is_number_integer())
      row[key] = std::to_string(v.get<int64_t>());
    else if (v.is_number())
      row[key] = format_double(v.get<double>());
    else if (v.is_boolean())
      row[key] = v.get<bool>() ? "1" : "0";
  }
}

}  // namespace

SweepRow sweep_row(const PointResult& p) {
  SweepRow row;
  row["point"] = std::to_string(p.point.index);
  row["case"] = p.point.case_name;
  for (const auto& [k, v] : p.point.values) row[k] = display_value(v);
  row["status"] = p.status;
  row["reason"] = p.reason;
  row["hash"] = p.hash;
  row["engine"] = p.summary.value("engine", std::string(p.status == "ok" || p.status == "oom" ? "sim" : ""));
  SweepRow metrics;
  flatten_json(p.summary, "", metrics);
  for (auto& [k, v] : metrics)
    if (!row.count(k) && k != "oom") row[k] = v;
  return row;
}

std::vector<std::string> sweep_header(const std::vector<std::string>& varied_keys, const std::vector<SweepRow>& rows) {
  std::vector<std::string> h = leading_columns();
  for (const auto& k : varied_keys) h.push_back(k);
  for (const auto& k : status_columns()) h.push_back(k);
  std::set<std::string> fixed(h.begin(), h.end());
  for (const auto& k : known_metrics()) {
    h.push_back(k);
    fixed.insert(k);
  }
  std::set<std::string> extra;
  for (const auto& r : rows)
    for (const auto& [k, v] : r)
      if (!fixed.count(k)) extra.insert(k);
  h.insert(h.end(), extra.begin(), extra.end());
  return h;
}

void write_sweep_table(const std::string& path, const std::vector<std::string>& varied_keys,
                       const std::vector<SweepRow>& rows) {
  auto header = sweep_header(varied_keys, rows);
  CsvTable t(header);
  for (const auto& r : rows) {
    t.row();
    for (const auto& col : header) {
      auto it = r.find(col);
      t.add(std::string_view(it == r.end() ? std::string() : it->second));
    }
  }
  t.write(path);
}

int64_t merge_sweeps(const std::vector<std::string>& dirs, const std::string& out_dir) {
  struct Shard {
    std::string csv;
    nlohmann::json meta;
  };
  std::map<int64_t, Shard> shards;
  int64_t count = -1, total = -1;
  nlohmann::json keys;
  for (const auto& d : dirs) {
    if (!fs::is_directory(d)) throw InputError(fmt::format("{}: not a folder with sweep shard tables", d));
    for (const auto& e : fs::directory_iterator(d)) {
      std::string name = e.path().filename().string();
      if (name.rfind("sweep.shard-", 0) != 0 || e.path().extension() != ".json") continue;
      auto meta = read_json(e.path().string());
      int64_t i = meta["shard"]["index"], n = meta["shard"]["count"];
      if (count < 0) count = n, total = meta["total_points"], keys = meta["varied_keys"];
      if (n != count || meta["total_points"] != total || meta["varied_keys"] != keys)
        throw InputError(fmt::format("{}: shard of another sweep ({} of {} shards, {} points; expected {} shards, {} points)",
                                     e.path().string(), i, n, meta["total_points"].dump(), count, total));
      std::string csv = e.path().parent_path().string() + "/" + e.path().stem().string() + ".csv";
      if (shards.count(i)) {
        // The same shard seen twice (e.g. the same folder named twice) is fine when it is the same file.
        if (fs::equivalent(shards[i].csv, csv)) continue;
        throw InputError(fmt::format("{}: shard {}/{} appears twice (also {})", csv, i, n, shards[i].csv));
      }
      shards[i] = {csv, meta};
    }
  }
  if (shards.empty())
    throw InputError(fmt::format("{}: no sweep.shard-I-of-N.json found (run splitsim sweep --shard I/N first)",
                                 dirs.empty() ? std::string("(no folder)") : dirs[0]));
  std::string missing;
  for (int64_t i = 1; i <= count; ++i)
    if (!shards.count(i)) missing += (missing.empty() ? "" : ", ") + std::to_string(i);
  if (!missing.empty()) throw InputError(fmt::format("merge: shards {} of {} are missing", missing, count));

  std::map<int64_t, SweepRow> rows;
  for (const auto& [i, s] : shards) {
    CsvData d = read_csv(s.csv);
    int pc = d.column("point");
    if (pc < 0) throw InputError(fmt::format("{}: expected a point column", s.csv));
    for (size_t r = 0; r < d.rows.size(); ++r) {
      SweepRow row;
      for (size_t c = 0; c < d.header.size(); ++c)
        if (!d.rows[r][c].empty()) row[d.header[c]] = d.rows[r][c];
      rows[std::stoll(d.rows[r][static_cast<size_t>(pc)])] = row;
    }
  }
  std::vector<SweepRow> ordered;
  for (auto& [k, v] : rows) ordered.push_back(std::move(v));
  std::vector<std::string> varied = keys.get<std::vector<std::string>>();
  write_sweep_table(out_dir + "/sweep.csv", varied, ordered);
  nlohmann::json meta = shards.begin()->second.meta;
  meta["shard"] = {{"index", 1}, {"count", 1}};
  meta["merged_from"] = count;
  meta["points"] = ordered.size();
  write_json_atomic(out_dir + "/sweep.json", meta);
  return static_cast<int64_t>(ordered.size());
}

}  // namespace splitsim
