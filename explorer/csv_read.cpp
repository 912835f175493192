// A small RFC 4180 reader for the tables the explorer writes and merges: quoted cells may hold commas,
// doubled quotes and newlines.
#include "explorer/csv_read.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "core/error.hpp"

namespace splitsim {

int CsvData::column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<int>(i);
  return -1;
}

std::map<std::string, std::string> CsvData::row_map(size_t r) const {
  std::map<std::string, std::string> m;
  for (size_t i = 0; i < header.size(); ++i) m[header[i]] = rows[r][i];
  return m;
}

CsvData parse_csv(const std::string& text, const std::string& origin) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> rec;
  std::string cell;
  bool quoted = false, any = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cell += c;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
      any = true;
    } else if (c == ',') {
      rec.push_back(cell);
      cell.clear();
      any = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (any || !cell.empty()) {
        rec.push_back(cell);
        records.push_back(rec);
      }
      rec.clear();
      cell.clear();
      any = false;
    } else {
      cell += c;
      any = true;
    }
  }
  if (quoted) throw InputError(fmt::format("{}: unterminated quoted cell", origin));
  if (any || !cell.empty()) {
    rec.push_back(cell);
    records.push_back(rec);
  }
  CsvData d;
  if (records.empty()) throw InputError(fmt::format("{}: expected a CSV header line, got an empty file", origin));
  d.header = records[0];
  for (size_t r = 1; r < records.size(); ++r) {
    if (records[r].size() != d.header.size())
      throw InputError(fmt::format("{}: record {}: expected {} cells, got {}", origin, r + 1, d.header.size(),
                                   records[r].size()));
    d.rows.push_back(std::move(records[r]));
  }
  return d;
}

CsvData read_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open file", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_csv(ss.str(), path);
}

}  // namespace splitsim
