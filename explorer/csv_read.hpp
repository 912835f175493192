// Reading the CSV tables this project writes (core/output.hpp CsvTable: RFC 4180 quoting).
#pragma once
#include <map>
#include <string>
#include <vector>

namespace splitsim {

struct CsvData {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each row has header.size() cells
  int column(const std::string& name) const;    // -1 when absent
  std::map<std::string, std::string> row_map(size_t r) const;
};

// InputError "path: line N: expected M cells, got K" on a ragged table; "path: cannot open file".
CsvData read_csv(const std::string& path);
CsvData parse_csv(const std::string& text, const std::string& origin);

}  // namespace splitsim
