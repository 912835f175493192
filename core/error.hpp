// Errors that name the input. Library code throws; only main() turns errors into exit codes:
// InputError (a malformed scenario, an unknown name, a bad flag, a corrupt file) exits with 2.
#pragma once
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace splitsim {

struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "where: key: expected what, got value" — the one shape every input error takes. Every part is passed
// through one_line(), so a key or value holding a newline cannot split the message.
std::string input_message(const std::string& where, const std::string& key, const std::string& expected,
                          const std::string& got);

[[noreturn]] void throw_input(const std::string& where, const std::string& key, const std::string& expected,
                              const std::string& got);

// `text` with every control character and every byte that is not part of valid UTF-8 written as an escape
// (\n, \t, \r, \xNN): what an error line may show of anything that came from outside.
std::string one_line(std::string_view text);

// Text that came from outside (a client, a flag, a file) as it may be echoed in a message or a kept
// record: quoted, one_line()-escaped, and cut to at most `max_bytes` of the original with the full size
// said ("\"aaaa...\" (20971520 bytes)"), so an echo can never be larger than the limit.
std::string quoted_input(std::string_view text, size_t max_bytes = 80);

// Longest error line main() prints; longer messages are cut there (the echo of an input is already cut by
// quoted_input, this bounds everything else).
constexpr size_t kMaxMessageBytes = 4096;

}  // namespace splitsim
