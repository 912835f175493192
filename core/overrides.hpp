// Dotted-path overrides from the command line: --set split.layer=8, --set edge.count=1,10,100,
// --set split.layer=0:32:4 (start:stop:step, stop included when reached), --set codec.tabq_bits=[2,4,8].
//
// An Override holds one key and one or more raw TOML values; more than one value is a sweep axis.
// Values are parsed as TOML ("8", "0.5", "true", "\"x\"", "[1,2]"); a bare word is taken as a string.
#pragma once
#include <string>
#include <vector>

#include "core/toml_reader.hpp"

namespace splitsim {

struct Override {
  std::string key;                  // "split.layer"
  std::vector<std::string> values;  // raw TOML value texts, one per sweep point
  std::string text;                 // as given, for messages
};

// Throws InputError naming "--set TEXT" when it is not KEY=VALUE[,VALUE...] or a range is malformed.
Override parse_override(const std::string& text);
std::vector<Override> parse_overrides(const std::vector<std::string>& texts);

// Sets one value in the document (creating intermediate tables) and records the key as overridden.
void apply_override(TomlSource& src, const std::string& key, const std::string& raw_value);

// Applies single-valued overrides; a multi-valued one is an error here ("use splitsim sweep").
void apply_single_overrides(TomlSource& src, const std::vector<Override>& overrides);

}  // namespace splitsim
