#include "core/error.hpp"

namespace splitsim {

std::string input_message(const std::string& where, const std::string& key, const std::string& expected,
                          const std::string& got) {
  std::string msg = where;
  if (!key.empty()) msg += ": " + key;
  msg += ": expected " + expected;
  if (!got.empty()) msg += ", got " + got;
  return msg;
}

void throw_input(const std::string& where, const std::string& key, const std::string& expected,
                 const std::string& got) {
  throw InputError(input_message(where, key, expected, got));
}

}  // namespace splitsim
