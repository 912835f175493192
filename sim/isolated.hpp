// A function run in a forked child process, and this process's resource use (getrusage).
//
// SimGrid runs one engine per process, so tests, benchmarks and sweeps that need several simulations in one
// process run each in a child.
#pragma once
#include <functional>

#include <nlohmann/json.hpp>

namespace splitsim {

// Runs fn in a forked child and returns its JSON; an InputError or other exception in the child is rethrown
// here with the same message. The child's peak RSS is added as "child_peak_rss_bytes".
nlohmann::json run_isolated(const std::function<nlohmann::json()>& fn);

double peak_rss_bytes();  // of this process, from getrusage
double cpu_seconds();     // user + system CPU time of this process, from getrusage

}  // namespace splitsim
