// Error messages: the one "where: key: expected ..., got ..." shape, and the escaping that keeps every
// message on one line whatever bytes the input held.
#include "core/error.hpp"

#include <fmt/format.h>

namespace splitsim {

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when the bytes there are not one.
size_t utf8_sequence(std::string_view s, size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte (overlongs and surrogates excluded)
  if (b >= 0xC2 && b <= 0xDF) n = 2;
  else if (b == 0xE0) n = 3, lo = 0xA0;
  else if (b >= 0xE1 && b <= 0xEC) n = 3;
  else if (b == 0xED) n = 3, hi = 0x9F;
  else if (b >= 0xEE && b <= 0xEF) n = 3;
  else if (b == 0xF0) n = 4, lo = 0x90;
  else if (b >= 0xF1 && b <= 0xF3) n = 4;
  else if (b == 0xF4) n = 4, hi = 0x8F;
  else return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if (k == 1 ? (c < lo || c > hi) : (c < 0x80 || c > 0xBF)) return 0;
  }
  return n;
}

}  // namespace

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
