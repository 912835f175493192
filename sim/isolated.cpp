// Running a function in a forked child process (SimGrid allows one engine per process) and this process's
// resource use.
#include "sim/isolated.hpp"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>
#include <stdexcept>
#include <vector>

#include "core/error.hpp"

namespace splitsim {

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

double peak_rss_bytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) * 1024.0;
}

nlohmann::json run_isolated(const std::function<nlohmann::json()>& fn) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    close(fds[0]);
    nlohmann::json out;
    try {
      out = {{"ok", fn()}};
    } catch (const InputError& e) {
      out = {{"input_error", e.what()}};
    } catch (const std::exception& e) {
      out = {{"error", e.what()}};
    }
    out["child_peak_rss_bytes"] = peak_rss_bytes();
    std::vector<uint8_t> bytes = nlohmann::json::to_cbor(out);
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t w = write(fds[1], bytes.data() + off, bytes.size() - off);
      if (w <= 0) break;
      off += static_cast<size_t>(w);
    }
    close(fds[1]);
    std::fflush(stdout);
    std::fflush(stderr);
    _exit(0);
  }
  close(fds[1]);
  std::vector<uint8_t> bytes;
  uint8_t buf[1 << 16];
  ssize_t got;
  while ((got = read(fds[0], buf, sizeof buf)) > 0) bytes.insert(bytes.end(), buf, buf + got);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (bytes.empty())
    throw std::runtime_error(fmt::format("simulation child process died (status {})", status));
  nlohmann::json out = nlohmann::json::from_cbor(bytes);
  if (out.contains("input_error")) throw InputError(out["input_error"].get<std::string>());
  if (out.contains("error")) throw std::runtime_error(out["error"].get<std::string>());
  nlohmann::json r = out["ok"];
  if (r.is_object()) r["child_peak_rss_bytes"] = out["child_peak_rss_bytes"];
  return r;
}

}  // namespace splitsim
