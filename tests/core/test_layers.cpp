// The layering rule of README's Architecture section, checked on the source tree: core -> models -> kernels ->
// hwprofiles -> sim | executor -> explorer. A file may include its own folder and the folders below it, never one
// above it or a peer (sim and executor do not include each other).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>

namespace {
const std::map<std::string, int> kLayer = {{"core", 0},       {"models", 1}, {"kernels", 2}, {"hwprofiles", 3},
                                           {"sim", 4},        {"executor", 4}, {"explorer", 5}};
}  // namespace

TEST_CASE("layers: no folder includes one above it or a peer", "[layers]") {
  namespace fs = std::filesystem;
  const fs::path root(SPLITSIM_SOURCE_DIR);
  const std::regex include(R"re(^\s*#\s*include\s+"(\w+)/)re");
  int files = 0;
  std::string violations;
  for (const auto& [folder, level] : kLayer)
    for (const auto& e : fs::recursive_directory_iterator(root / folder)) {
      const std::string ext = e.path().extension().string();
      if (!e.is_regular_file() || (ext != ".cpp" && ext != ".hpp" && ext != ".cu" && ext != ".cuh")) continue;
      ++files;
      std::ifstream in(e.path());
      std::string line;
      for (int n = 1; std::getline(in, line); ++n) {
        std::smatch m;
        if (!std::regex_search(line, m, include)) continue;
        const auto it = kLayer.find(m[1].str());
        if (it == kLayer.end() || it->first == folder || it->second < level) continue;
        violations += fs::relative(e.path(), root).string() + ":" + std::to_string(n) + " includes " + it->first + "/\n";
      }
    }
  INFO(violations);
  CHECK(files > 100);
  CHECK(violations.empty());
}

// ctest registers each test case by name through a CMake list, which splits a name at ';': neither half matches a
// test case, and ctest reports "passed" for a test that never ran.
TEST_CASE("tests: no test case name holds a semicolon", "[layers]") {
  namespace fs = std::filesystem;
  const fs::path root(SPLITSIM_SOURCE_DIR);
  const std::regex name(R"re(TEST_CASE\("([^"]*)")re");
  int cases = 0;
  std::string bad;
  for (const auto& e : fs::recursive_directory_iterator(root / "tests")) {
    if (!e.is_regular_file() || e.path().extension() != ".cpp") continue;
    std::ifstream in(e.path());
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      std::smatch m;
      if (!std::regex_search(line, m, name)) continue;
      ++cases;
      if (m[1].str().find(';') != std::string::npos)
        bad += fs::relative(e.path(), root).string() + ":" + std::to_string(n) + "\n";
    }
  }
  INFO(bad);
  CHECK(cases > 200);
  CHECK(bad.empty());
}
