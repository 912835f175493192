// A test's input file: `text` written to <temp>/<folder>/<name>, its path returned.
#pragma once
#include <filesystem>
#include <fstream>
#include <string>

namespace splitsim::test {

inline std::string write_temp_file(const std::string& folder, const std::string& name, const std::string& text) {
  const auto dir = std::filesystem::temp_directory_path() / folder;
  std::filesystem::create_directories(dir);
  const std::string path = (dir / name).string();
  std::ofstream(path) << text;
  return path;
}

}  // namespace splitsim::test
