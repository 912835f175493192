// Reading TOML inputs with errors that name the file and the key.
//
// A TomlReader is a view of one table of a parsed document. Every getter records the key it consumed, so
// that after loading, expect_all_used() can reject unknown keys (a typo must not be silently ignored).
// Keys set from the command line (--set) are reported as coming from "--set" instead of the file.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "core/units.hpp"

namespace splitsim {

// A parsed TOML document plus where its keys came from.
struct TomlSource {
  toml::table root;
  std::string origin;                      // file path, or a label for text
  std::set<std::string> overridden;        // dotted keys that came from --set
  std::set<std::string> used;              // dotted keys consumed by readers
};

// Parses a file; a syntax error becomes InputError "file:line:col: malformed TOML: ...".
std::shared_ptr<TomlSource> parse_toml_file(const std::string& path);
std::shared_ptr<TomlSource> parse_toml_text(std::string_view text, const std::string& origin);

// A number with the place it came from, for hardware profiles: { value = "8GiB", source = "datasheet: ..." }.
struct Sourced {
  double value = 0;
  std::string source;
};

class TomlReader {
 public:
  TomlReader(std::shared_ptr<TomlSource> src, const toml::table* table, std::string prefix);
  explicit TomlReader(std::shared_ptr<TomlSource> src);

  bool has(std::string_view key) const;
  bool is_table(std::string_view key) const;
  bool is_string(std::string_view key) const;
  std::string full_key(std::string_view key) const;
  std::string where(std::string_view key) const;  // file, or "file (--set)" for overridden keys

  std::string str(std::string_view key) const;
  std::string str_or(std::string_view key, std::string fallback) const;
  // One of the allowed words; the error lists them.
  std::string choice(std::string_view key, const std::vector<std::string>& allowed) const;
  std::string choice_or(std::string_view key, const std::vector<std::string>& allowed, std::string fallback) const;

  int64_t integer(std::string_view key, int64_t lo, int64_t hi) const;
  int64_t integer_or(std::string_view key, int64_t lo, int64_t hi, int64_t fallback) const;
  double number(std::string_view key, double lo, double hi) const;  // int or float
  double number_or(std::string_view key, double lo, double hi, double fallback) const;
  bool boolean_or(std::string_view key, bool fallback) const;

  double quantity(std::string_view key, Dim dim) const;
  double quantity_or(std::string_view key, Dim dim, double fallback) const;
  Sourced sourced(std::string_view key, Dim dim) const;  // requires a non-empty source
  std::optional<Sourced> sourced_opt(std::string_view key, Dim dim) const;

  std::vector<int64_t> int_list(std::string_view key, int64_t lo, int64_t hi) const;
  std::vector<int64_t> int_list_or(std::string_view key, int64_t lo, int64_t hi, std::vector<int64_t> fallback) const;

  TomlReader table(std::string_view key) const;  // required sub-table
  std::optional<TomlReader> table_opt(std::string_view key) const;
  std::vector<TomlReader> tables(std::string_view key) const;  // [[array.of.tables]]

  // Throws on the first key of this table (recursively) that no getter consumed.
  void expect_all_used() const;

  [[noreturn]] void fail(std::string_view key, std::string_view expected, std::string_view got) const;

 private:
  const toml::node* node(std::string_view key) const;
  void mark(std::string_view key) const;
  std::string got_text(std::string_view key) const;

  std::shared_ptr<TomlSource> src_;
  const toml::table* table_;
  std::string prefix_;
};

// Renders a TOML node as it would appear in a file ("\"20\"", "40", "[1, 2]").
std::string toml_repr(const toml::node& n);

}  // namespace splitsim
