// `splitsim plot DIR`: the C++ side only locates the interpreter and the script; the figures are made from the
// CSV/JSON results alone, so they can be redrawn without rerunning anything.
#include "explorer/plot.hpp"

#include <sys/wait.h>

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "core/error.hpp"
#include "core/scenario.hpp"

namespace splitsim {
namespace {
std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}
}  // namespace

std::string plot_python() {
  if (const char* p = std::getenv("SPLITSIM_PYTHON"); p && *p) return p;
  return "/usr/bin/python3";
}

void run_plots(const std::string& dir) {
  if (!std::filesystem::is_directory(dir)) throw InputError(fmt::format("{}: not a results folder", dir));
  const std::string script = data_dir() + "/explorer/plots/plot_results.py";
  if (!std::filesystem::exists(script)) throw InputError(fmt::format("{}: plot script missing", script));
  std::string cmd = fmt::format("{} {} {}", shell_quote(plot_python()), shell_quote(script), shell_quote(dir));
  std::fflush(stdout);
  int rc = std::system(cmd.c_str());
  if (rc != 0)
    throw std::runtime_error(fmt::format("plotting failed (exit {}): {}", WIFEXITED(rc) ? WEXITSTATUS(rc) : rc, cmd));
}

}  // namespace splitsim
