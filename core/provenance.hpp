// What every measured number records about where it came from: this host's name and the UTC time of measurement.
#pragma once
#include <string>

namespace splitsim {

std::string this_host_name();  // gethostname(), or "unknown-host"
std::string utc_now();         // "2026-11-22T01:14:24Z"

}  // namespace splitsim
