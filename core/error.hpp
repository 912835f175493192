// Errors that name the input. Library code throws; only main() turns errors into exit codes:
// InputError (a malformed scenario, an unknown name, a bad flag, a corrupt file) exits with 2.
#pragma once
#include <stdexcept>
#include <string>

namespace splitsim {

struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "where: key: expected what, got value" — the one shape every input error takes.
std::string input_message(const std::string& where, const std::string& key, const std::string& expected,
                          const std::string& got);

[[noreturn]] void throw_input(const std::string& where, const std::string& key, const std::string& expected,
                              const std::string& got);

}  // namespace splitsim
