// Error messages: the one "where: key: expected ..., got ..." shape, and the escaping that keeps every
// message on one line whatever bytes the input held.
#include "core/error.hpp"

#include <fmt/format.h>

#include "core/utf8.hpp"

namespace splitsim {

std::string one_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      ++i;
    } else if (c == '\n') {
      out += "\\n", ++i;
    } else if (c == '\t') {
      out += "\\t", ++i;
    } else if (c == '\r') {
      out += "\\r", ++i;
    } else if (size_t n = c >= 0x80 ? utf8_sequence(text, i) : 0; n > 0) {
      out.append(text.substr(i, n));
      i += n;
    } else {
      out += fmt::format("\\x{:02x}", c);
      ++i;
    }
  }
  return out;
}

std::string quoted_input(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return fmt::format("\"{}\"", one_line(text));
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 sequence
  return fmt::format("\"{}...\" ({} bytes)", one_line(text.substr(0, cut)), text.size());
}

std::string input_message(const std::string& where, const std::string& key, const std::string& expected,
                          const std::string& got) {
  std::string msg = one_line(where);
  if (!key.empty()) msg += ": " + one_line(key);
  msg += ": expected " + one_line(expected);
  if (!got.empty()) msg += ", got " + one_line(got);
  return msg;
}

void throw_input(const std::string& where, const std::string& key, const std::string& expected,
                 const std::string& got) {
  throw InputError(input_message(where, key, expected, got));
}

}  // namespace splitsim
