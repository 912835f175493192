// Field parsing shared by the CSV readers of core/formats (request traces, link traces): a line split at commas
// with the fields trimmed, and strict whole-field numbers.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

namespace splitsim {

std::vector<std::string_view> split_csv(std::string_view line);
bool parse_int(std::string_view s, int64_t& v);     // the whole field, base 10
bool parse_double(std::string_view s, double& v);   // the whole field, finite

}  // namespace splitsim
