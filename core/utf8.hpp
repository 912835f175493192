// Text that came from outside is bytes. These say which of them form valid UTF-8 and turn the rest into
// something every output can hold: JSON writers refuse invalid UTF-8, and a terminal line must not be split.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace splitsim {

// Length (2..4) of the valid multi-byte UTF-8 sequence starting at s[i], or 0 when the bytes there are not one
// (overlong forms and surrogates are not valid). ASCII bytes are not multi-byte sequences: 0.
size_t utf8_sequence(std::string_view s, size_t i);

// `text` with every byte that is not part of valid UTF-8 replaced by U+FFFD, as decoders with errors="replace"
// do; `replaced` (when given) receives how many bytes were replaced. Valid text comes back unchanged.
std::string valid_utf8(std::string_view text, int64_t* replaced = nullptr);

}  // namespace splitsim
