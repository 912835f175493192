// Locating the stories260K files without hard-coding a machine path.
#include "executor/model_files.hpp"

#include <cstdlib>
#include <filesystem>
#include <vector>

namespace splitsim {

std::optional<std::string> find_model_dir() {
  namespace fs = std::filesystem;
  auto has_model = [](const fs::path& p) { return fs::exists(p / "stories260K.bin") && fs::exists(p / "tok512.bin"); };
  if (const char* env = std::getenv("SPLITSIM_MODEL_DIR"); env && *env) {
    if (has_model(env)) return std::string(env);
    return std::nullopt;
  }
  std::vector<fs::path> starts;
  if (const char* src = std::getenv("SPLITSIM_SOURCE_DIR"); src && *src) starts.emplace_back(src);
#ifdef SPLITSIM_SOURCE_DIR
  starts.emplace_back(SPLITSIM_SOURCE_DIR);
#endif
  std::error_code ec;
  starts.push_back(fs::current_path(ec));
  for (const auto& s : starts) {
    for (fs::path p = fs::absolute(s, ec); !p.empty(); p = p.parent_path()) {
      if (has_model(p / "shared/models/stories260K")) return (p / "shared/models/stories260K").string();
      if (has_model(p / "../shared/models/stories260K")) return fs::weakly_canonical(p / "../shared/models/stories260K").string();
      if (p == p.parent_path()) break;
    }
  }
  return std::nullopt;
}

}  // namespace splitsim
