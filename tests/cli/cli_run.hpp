// Running the splitsim binary from a test with exact arguments (no shell: a newline or a quote in an argument
// arrives as written), capturing stdout and stderr apart.
#pragma once
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <filesystem>
#include <string>
#include <vector>

extern char** environ;

namespace splitsim::test {

struct Output {
  int code = -1;  // exit status; 128 + signal when killed by one
  std::string out, err;
};

inline Output run_splitsim(const std::vector<std::string>& args, const std::string& cwd = "") {
  int out_pipe[2], err_pipe[2];
  REQUIRE(pipe(out_pipe) == 0);
  REQUIRE(pipe(err_pipe) == 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
  posix_spawn_file_actions_addclose(&fa, out_pipe[0]);
  posix_spawn_file_actions_addclose(&fa, err_pipe[0]);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  std::vector<std::string> all{SPLITSIM_BIN};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, SPLITSIM_BIN, &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out_pipe[1]);
  close(err_pipe[1]);
  REQUIRE(rc == 0);
  Output o;
  std::array<pollfd, 2> fds{{{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}}};
  std::array<std::string*, 2> into{&o.out, &o.err};
  int open_fds = 2;
  char buf[4096];
  while (open_fds > 0) {
    if (poll(fds.data(), fds.size(), -1) < 0) break;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        into[i]->append(buf, static_cast<size_t>(n));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  o.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return o;
}

inline const std::string kSmall = std::string(SPLITSIM_SOURCE_DIR) + "/scenarios/stories260k-local.toml";

// A fresh folder under the temporary directory, named for this process and `name`.
inline std::string scratch(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / fmt::format("splitsim-bad-input-{}-{}", getpid(), name);
  std::filesystem::create_directories(p);
  return p.string();
}

inline size_t count_lines(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// Exit 2 with exactly one line, "splitsim: error: ...", on stderr.
inline bool one_line_error(const Output& o) {
  return o.code == 2 && count_lines(o.err) == 1 && o.err.rfind("splitsim: error: ", 0) == 0 && o.err.back() == '\n';
}

}  // namespace splitsim::test
