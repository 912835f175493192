// Writing results: every file goes to a temporary name in the same folder and is renamed into place, so a
// crash or a bad input never leaves a half-written output behind.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace splitsim {

void write_file_atomic(const std::string& path, std::string_view content);
void write_json_atomic(const std::string& path, const nlohmann::json& j);
// The JSON text of j (indent < 0: one line); bytes of strings that are not valid UTF-8 become U+FFFD.
std::string dump_json(const nlohmann::json& j, int indent = -1);

// A run's results folder always describes exactly one run. write_run_folder removes the temporaries that
// killed writers left there (<file>.tmp.<pid> of a process that no longer exists), writes every new file
// beside its final name, removes every run file an earlier run left (kRunFileNames: of any kind of run, so
// a server run into an old local run's folder leaves no summary.json behind), then renames the new files
// into place, the last of `files` — the completion marker, summary.json or its kind's equivalent — last. A
// folder with its marker therefore holds one run's files and nothing of another's; one without it is
// incomplete. Files that are not run files (a user's own) are never touched.
struct RunFile {
  std::string name, content;
};
inline const std::vector<std::string> kRunFileNames = {"summary.json", "server_summary.json", "eval.json",
                                                       "config.json",  "requests.csv",        "tokens.csv"};
void write_run_folder(const std::string& dir, const std::vector<RunFile>& files);
// Removes <anything>.tmp.<pid> in dir whose process is gone; returns how many.
int remove_stale_temporaries(const std::string& dir);

// A CSV table built in memory and written atomically. Numbers keep full precision (%.17g round-trips).
class CsvTable {
 public:
  explicit CsvTable(std::vector<std::string> header);
  CsvTable& row();  // starts a new row
  CsvTable& add(std::string_view cell);
  CsvTable& add(const char* cell) { return add(std::string_view(cell)); }  // not the bool overload
  CsvTable& add(const std::string& cell) { return add(std::string_view(cell)); }
  CsvTable& add(double v);
  CsvTable& add(int64_t v);
  CsvTable& add(int v) { return add(static_cast<int64_t>(v)); }
  CsvTable& add(size_t v) { return add(static_cast<int64_t>(v)); }
  CsvTable& add(bool v) { return add(static_cast<int64_t>(v ? 1 : 0)); }
  std::string str() const;
  void write(const std::string& path) const;
  size_t rows() const { return rows_; }

 private:
  std::vector<std::string> header_;
  std::string body_;
  size_t rows_ = 0;
  size_t cells_in_row_ = 0;
};

std::string csv_escape(std::string_view cell);
std::string format_double(double v);  // shortest text that reads back to the same double

// Stable 64-bit FNV-1a hash as 16 hex digits; hash_json hashes the canonical (sorted-key) dump.
std::string fnv1a_hex(std::string_view data);
std::string hash_json(const nlohmann::json& j);

}  // namespace splitsim
