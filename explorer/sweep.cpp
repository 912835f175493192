// Sweep runner: resolve every point of this shard, skip points whose hash folder already holds results, run
// the rest (child processes of this binary, up to `jobs` at once), show progress, and write one table
// (sweep_table.cpp).
#include "explorer/sweep.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "core/output.hpp"
#include "core/overrides.hpp"
#include "core/scenario.hpp"
#include "core/toml_reader.hpp"
#include "explorer/analytic_run.hpp"
#include "explorer/child_process.hpp"
#include "explorer/csv_read.hpp"
#include "hwprofiles/system.hpp"

namespace splitsim {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

// Status of a finished run folder: ok, or oom with the run's reason.
void read_summary(PointResult& p) {
  p.summary = read_json(p.dir + "/summary.json");
  bool oom = p.summary.value("oom", false) || (p.summary.contains("completed") && p.summary["completed"] == 0 &&
                                               p.summary.value("oom_requests", 0) > 0);
  p.status = oom ? "oom" : "ok";
  p.reason = p.summary.value("reason", std::string(oom ? "out of memory" : ""));
}

void record_failure(PointResult& p, int exit_code, const std::string& reason, const std::string& command) {
  p.status = "failed";
  p.reason = reason;
  p.summary = nlohmann::json::object();
  write_json_atomic(p.dir + "/failure.json", {{"exit_code", exit_code}, {"reason", reason}, {"command", command}});
}

std::string hms(double s) {
  if (!(s >= 0) || s > 1e7) return "--:--";
  auto t = static_cast<int64_t>(s + 0.5);
  return t >= 3600 ? fmt::format("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60) : fmt::format("{}:{:02}", t / 60, t % 60);
}

class Progress {
 public:
  Progress(bool on, int64_t total) : on_(on), total_(total), tty_(::isatty(2)), start_(Clock::now()) {}
  void update(int64_t done, int64_t cached, int64_t failed, bool final = false) {
    if (!on_ || total_ == 0) return;
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    const int64_t ran = done - cached;
    const double eta = ran > 0 ? elapsed / static_cast<double>(ran) * static_cast<double>(total_ - done) : -1;
    const int width = 30;
    const int fill = static_cast<int>(width * done / total_);
    std::string bar = std::string(static_cast<size_t>(fill), '#') + std::string(static_cast<size_t>(width - fill), '.');
    std::string line = fmt::format("sweep [{}] {}/{} points, {} cached, {} failed, {} elapsed, ETA {}", bar, done,
                                   total_, cached, failed, hms(elapsed), done == total_ ? "0:00" : hms(eta));
    if (tty_) {
      fmt::print(stderr, "\r{}\x1b[K{}", line, final ? "\n" : "");
    } else {
      int64_t decile = done * 10 / total_;
      if (final || decile != last_decile_) fmt::print(stderr, "{}\n", line);
      last_decile_ = decile;
    }
    std::fflush(stderr);
  }

 private:
  bool on_;
  int64_t total_;
  bool tty_;
  Clock::time_point start_;
  int64_t last_decile_ = -1;
};

}  // namespace

bool simulator_available(const std::string& exe) {
  static int known = -1;
  if (known >= 0 && exe.empty()) return known == 1;
  std::vector<std::string> argv = {self_exe(exe), "run", "--help"};
  int status = 0;
  try {
    pid_t pid = spawn(argv, "/dev/null");
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  } catch (const std::exception&) {
    return false;
  }
  bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (exe.empty()) known = ok ? 1 : 0;
  return ok;
}

std::string default_engine(const std::string& exe) { return simulator_available(exe) ? "sim" : "analytic"; }

namespace {

// The points of one run of a sweep (this shard's), grouped by the system they resolve to: points with equal
// hashes share one run folder and one run.
struct SweepPlan {
  std::map<std::string, std::vector<size_t>> by_hash;  // hash -> points sharing it
  std::vector<std::string> order;                      // hashes, first-seen order
  std::map<std::string, System> systems;
};

// Resolves every point of res.points: the scenario file is parsed once, each point applies its overrides to a copy.
SweepPlan plan_points(const SweepSpec& spec, const SweepOptions& opt, SweepResult& res) {
  SweepPlan plan;
  const std::shared_ptr<TomlSource> base = parse_toml_file(spec.scenario);
  for (size_t i = 0; i < res.points.size(); ++i) {
    auto& p = res.points[i];
    try {
      auto src = std::make_shared<TomlSource>(*base);
      apply_single_overrides(*src, p.point.overrides);
      System sys = resolve_system(scenario_from_source(src));
      p.hash = sys.hash();
      p.dir = opt.out_dir + "/runs/" + p.hash;
      if (!plan.by_hash.count(p.hash)) {
        plan.order.push_back(p.hash);
        plan.systems.emplace(p.hash, std::move(sys));
      }
      plan.by_hash[p.hash].push_back(i);
    } catch (const InputError& e) {
      p.status = "invalid";
      p.reason = e.what();
    }
  }
  return plan;
}

// Counts finished points and copies a run's outcome to the points that share its hash.
struct SweepProgress {
  SweepResult& res;
  const SweepPlan& plan;
  Progress bar;
  int64_t done = 0, cached = 0, failed = 0;

  void finish(const std::string& h, bool was_cached) {
    auto& first = res.points[plan.by_hash.at(h)[0]];
    for (size_t i : plan.by_hash.at(h)) {
      auto& p = res.points[i];
      if (&p != &first) {
        p.status = first.status;
        p.reason = first.reason;
        p.summary = first.summary;
      }
      p.cached = was_cached || &p != &first;
      ++done;
      if (p.cached) ++cached;
      if (p.status == "failed") ++failed;
    }
    bar.update(done, cached, failed);
  }
};

// A point whose folder already holds its summary (or, unless retrying, its failure): read it back.
bool read_cached(PointResult& p, bool retry_failed) {
  if (fs::exists(p.dir + "/summary.json")) {
    read_summary(p);
    return true;
  }
  if (retry_failed || !fs::exists(p.dir + "/failure.json")) return false;
  auto f = read_json(p.dir + "/failure.json");
  p.status = "failed";
  p.reason = f.value("reason", std::string("failed"));
  p.summary = nlohmann::json::object();
  return true;
}

// The outcome of a point's child process from its exit status, its folder and its log.
void child_finished(PointResult& p, int status, const std::string& cmd) {
  const bool exited_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (exited_ok && fs::exists(p.dir + "/summary.json")) {
    read_summary(p);
  } else if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGINT || WTERMSIG(status) == SIGTERM)) {
    // Interrupted, not failed: leave no failure record so that the next run retries the point.
    p.status = "failed";
    p.reason = "interrupted";
  } else {
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::string why = last_error_line(p.dir + "/log.txt");
    if (WIFSIGNALED(status)) why = fmt::format("killed by signal {}{}{}", WTERMSIG(status), why.empty() ? "" : ": ", why);
    if (why.empty()) why = fmt::format("exit code {} without a summary.json", code);
    record_failure(p, code, why, cmd);
  }
}

// Runs the points of `todo` as child processes of this binary (`run` or `analytic-run`), up to opt.jobs at once.
void run_children(const SweepSpec& spec, const SweepOptions& opt, const std::vector<std::string>& todo,
                  SweepProgress& prog) {
  const std::string exe = self_exe(opt.exe);
  std::map<pid_t, std::pair<std::string, std::string>> running;  // pid -> hash, command line
  size_t next = 0;
  while (next < todo.size() || !running.empty()) {
    while (next < todo.size() && static_cast<int>(running.size()) < opt.jobs) {
      const std::string& h = todo[next++];
      auto& p = prog.res.points[prog.plan.by_hash.at(h)[0]];
      fs::create_directories(p.dir);
      fs::remove(p.dir + "/failure.json");
      std::vector<std::string> argv = {exe, opt.engine == "sim" ? "run" : "analytic-run", spec.scenario};
      for (const auto& o : p.point.overrides) {
        argv.push_back("--set");
        argv.push_back(o.key + "=" + o.values[0]);
      }
      argv.insert(argv.end(), {"--out", p.dir, "--quiet"});
      std::string cmd;
      for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
      running[spawn(argv, p.dir + "/log.txt")] = {h, cmd};
    }
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(fmt::format("waitpid: {}", std::strerror(errno)));
    }
    auto it = running.find(pid);
    if (it == running.end()) continue;
    auto [h, cmd] = it->second;
    running.erase(it);
    child_finished(prog.res.points[prog.plan.by_hash.at(h)[0]], status, cmd);
    ++prog.res.ran;
    prog.finish(h, false);
  }
}

// sweep.csv (or this shard's table) and the JSON that describes it.
void write_sweep_outputs(const SweepSpec& spec, const SweepOptions& opt, SweepResult& res) {
  std::vector<SweepRow> rows;
  for (const auto& p : res.points) rows.push_back(sweep_row(p));
  const std::string stem = opt.shard.whole() ? std::string("sweep")
                                             : fmt::format("sweep.shard-{}-of-{}", opt.shard.index, opt.shard.count);
  res.table_path = opt.out_dir + "/" + stem + ".csv";
  write_sweep_table(res.table_path, spec.varied_keys(), rows);
  nlohmann::json meta{{"scenario", spec.scenario},
                      {"origin", spec.origin},
                      {"varied_keys", spec.varied_keys()},
                      {"total_points", res.total_points},
                      {"shard", {{"index", opt.shard.index}, {"count", opt.shard.count}}},
                      {"points", res.points.size()},
                      {"engine", opt.engine},
                      {"ran", res.ran},
                      {"cached", res.cached},
                      {"failed", res.failed},
                      {"wall_s", res.wall}};
  write_json_atomic(opt.out_dir + "/" + stem + ".json", meta);
}

}  // namespace

SweepResult run_sweep(const SweepSpec& spec, const SweepOptions& opt) {
  const auto t0 = Clock::now();
  if (opt.engine != "sim" && opt.engine != "analytic")
    throw InputError(fmt::format("--engine {}: expected sim or analytic", opt.engine));
  if (opt.jobs < 1) throw InputError(fmt::format("--jobs {}: expected at least 1", opt.jobs));
  if (opt.engine == "sim" && !simulator_available(opt.exe))
    throw InputError("--engine sim: this splitsim binary has no `run` command (the simulator is not built in); "
                     "use --engine analytic");
  SweepResult res;
  const std::vector<GridPoint> grid = expand_grid(spec);
  res.total_points = static_cast<int64_t>(grid.size());
  fs::create_directories(opt.out_dir + "/runs");
  for (const auto& gp : grid) {
    if (!opt.shard.contains(gp.index)) continue;
    res.points.emplace_back();
    res.points.back().point = gp;
  }
  const SweepPlan plan = plan_points(spec, opt, res);

  SweepProgress prog{res, plan, Progress(opt.progress, static_cast<int64_t>(res.points.size()))};
  for (const auto& p : res.points)
    if (p.status == "invalid") ++prog.done, ++prog.failed;
  std::vector<std::string> todo;  // hashes without a cached result
  for (const auto& h : plan.order) {
    if (read_cached(res.points[plan.by_hash.at(h)[0]], opt.retry_failed))
      prog.finish(h, true);
    else
      todo.push_back(h);
  }
  prog.bar.update(prog.done, prog.cached, prog.failed);

  if (opt.engine == "analytic" && opt.in_process) {
    for (const auto& h : todo) {
      auto& p = res.points[plan.by_hash.at(h)[0]];
      fs::remove(p.dir + "/failure.json");
      run_analytic(plan.systems.at(h), p.dir);
      read_summary(p);
      ++res.ran;
      prog.finish(h, false);
    }
  } else {
    run_children(spec, opt, todo, prog);
  }
  prog.bar.update(prog.done, prog.cached, prog.failed, true);
  res.cached = prog.cached;
  res.failed = prog.failed;
  res.wall = std::chrono::duration<double>(Clock::now() - t0).count();
  if (opt.write_table) write_sweep_outputs(spec, opt, res);
  return res;
}

}  // namespace splitsim
