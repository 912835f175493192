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
