// Child processes of this binary: where it is, starting one with its output in a log, and the last line a failed
// one printed. The sweep runner's process pool is built on these.
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

namespace splitsim {

std::string self_exe(const std::string& exe);  // exe, or this process's binary when exe is empty
// Starts argv with stdout and stderr sent to log_path (or /dev/null); returns the pid.
pid_t spawn(const std::vector<std::string>& argv, const std::string& log_path);
std::string last_error_line(const std::string& log_path);  // the last non-empty line, at most 300 bytes

}  // namespace splitsim
