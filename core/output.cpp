#include "core/output.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace splitsim {

void write_file_atomic(const std::string& path, std::string_view content) {
  namespace fs = std::filesystem;
  fs::path p(path);
  if (p.has_parent_path()) fs::create_directories(p.parent_path());
  std::string tmp = fmt::format("{}.tmp.{}", path, static_cast<long>(::getpid()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(fmt::format("{}: cannot write ({})", tmp, std::strerror(errno)));
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      throw std::runtime_error(fmt::format("{}: write failed", tmp));
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error(fmt::format("{}: cannot rename into place ({})", path, std::strerror(errno)));
  }
}

// Strings in results can hold bytes that are not UTF-8 (generated text, a prompt, a --set value): they are
// written with U+FFFD in their place rather than refused, so that a run's outputs are always complete.
std::string dump_json(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

void write_json_atomic(const std::string& path, const nlohmann::json& j) {
  write_file_atomic(path, dump_json(j, 2) + "\n");
}

int remove_stale_temporaries(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  int removed = 0;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const auto at = name.rfind(".tmp.");
    if (at == std::string::npos || at + 5 >= name.size()) continue;
    const std::string pid_text = name.substr(at + 5);
    if (pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text.size() > 9) continue;
    const auto pid = static_cast<pid_t>(std::stol(pid_text));
    if (pid == ::getpid() || (::kill(pid, 0) != 0 && errno == ESRCH)) removed += fs::remove(e.path(), ec) ? 1 : 0;
  }
  return removed;
}

void write_run_folder(const std::string& dir, const std::vector<RunFile>& files) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  remove_stale_temporaries(dir);
  const std::string suffix = fmt::format(".tmp.{}", static_cast<long>(::getpid()));
  std::vector<std::string> written;
  try {
    for (const auto& f : files) {
      const std::string tmp = dir + "/" + f.name + suffix;
      written.push_back(tmp);
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out.write(f.content.data(), static_cast<std::streamsize>(f.content.size()));
      out.flush();
      if (!out) throw std::runtime_error(fmt::format("{}: cannot write ({})", tmp, std::strerror(errno)));
    }
  } catch (...) {
    for (const auto& t : written) std::remove(t.c_str());
    throw;
  }
  for (const auto& name : kRunFileNames) std::remove((dir + "/" + name).c_str());  // the marker goes first
  for (const auto& f : files) {
    const std::string path = dir + "/" + f.name;
    if (std::rename((path + suffix).c_str(), path.c_str()) != 0)
      throw std::runtime_error(fmt::format("{}: cannot rename into place ({})", path, std::strerror(errno)));
  }
}

std::string csv_escape(std::string_view cell) {
  if (cell.find_first_of(",\"\n") == std::string_view::npos) return std::string(cell);
  std::string out = "\"";
  for (char c : cell) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string format_double(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return fmt::format("{}", v);  // fmt prints the shortest round-trip representation
}

CsvTable::CsvTable(std::vector<std::string> header) : header_(std::move(header)) {}

CsvTable& CsvTable::row() {
  if (rows_ > 0 && cells_in_row_ != header_.size())
    throw std::logic_error(fmt::format("CSV row {} has {} cells, header has {}", rows_, cells_in_row_, header_.size()));
  if (rows_ > 0) body_ += '\n';
  ++rows_;
  cells_in_row_ = 0;
  return *this;
}

CsvTable& CsvTable::add(std::string_view cell) {
  if (cells_in_row_++ > 0) body_ += ',';
  body_ += csv_escape(cell);
  return *this;
}

CsvTable& CsvTable::add(double v) { return add(std::string_view(format_double(v))); }
CsvTable& CsvTable::add(int64_t v) { return add(std::string_view(fmt::format("{}", v))); }

std::string CsvTable::str() const {
  if (rows_ > 0 && cells_in_row_ != header_.size())
    throw std::logic_error(fmt::format("CSV row {} has {} cells, header has {}", rows_, cells_in_row_, header_.size()));
  std::string out;
  for (size_t i = 0; i < header_.size(); ++i) out += (i ? "," : "") + csv_escape(header_[i]);
  out += '\n';
  if (rows_ > 0) out += body_ + '\n';
  return out;
}

void CsvTable::write(const std::string& path) const { write_file_atomic(path, str()); }

std::string fnv1a_hex(std::string_view data) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64-bit offset basis
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("{:016x}", h);
}

std::string hash_json(const nlohmann::json& j) { return fnv1a_hex(dump_json(j)); }

}  // namespace splitsim
