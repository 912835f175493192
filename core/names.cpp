// The one rule for names that become paths (see names.hpp).
#include "core/names.hpp"

#include <fmt/format.h>

namespace splitsim {

namespace {
bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}
}  // namespace

std::string name_rule() {
  return fmt::format("a name of 1..{} letters, digits, '-', '_' or '.', not starting with '.'", kMaxNameBytes);
}

std::string name_problem(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes || name.front() == '.') return name_rule();
  for (char c : name)
    if (!name_char(c)) return name_rule();
  return {};
}

std::string name_from(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (out.empty() && c == '.') continue;
    out += name_char(c) ? c : '_';
    if (out.size() == kMaxNameBytes) break;
  }
  return out.empty() ? "run" : out;
}

}  // namespace splitsim
