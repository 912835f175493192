// Sweep grids: which configurations a sweep or an optimize run visits.
//
// A grid is a base scenario, fixed overrides, optional cases (named override sets, e.g. one per strategy with
// its own split layer) and axes (a key with several values); the points are cases x the cartesian product of
// the axes (first axis outermost), minus the points an exclusion rule matches. Points are numbered in that
// order, so `--shard i/n` picks the same points on every machine. (In a sweep file the [axes] table is read in
// key order, so its axes nest alphabetically by key.) Values stay raw TOML texts ("8", "\"opsc\"",
// "[2, 4, 8]") until a point is applied to the scenario by core/overrides.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/overrides.hpp"

namespace splitsim {

using Assignment = std::pair<std::string, std::string>;  // dotted key, raw TOML value

struct Axis {
  std::string key;
  std::vector<std::string> values;  // normalized raw TOML values
};

struct SweepCase {
  std::string name;
  std::vector<Assignment> set;
};

// A point is excluded when every key of the rule has one of the listed values.
struct ExcludeRule {
  std::vector<std::pair<std::string, std::vector<std::string>>> when;
};

struct SweepSpec {
  std::string scenario;            // base scenario file
  std::string origin;              // the sweep file, or "command line"
  std::vector<Assignment> fixed;   // single-valued --set and [set]
  std::vector<SweepCase> cases;    // empty: one unnamed case
  std::vector<Axis> axes;
  std::vector<ExcludeRule> exclude;

  // Keys that vary between points, in column order: case keys first, then axes.
  std::vector<std::string> varied_keys() const;
};

struct GridPoint {
  int64_t index = 0;               // position in the grid after exclusions (0-based)
  std::string case_name;
  std::vector<Assignment> values;  // the varied keys' values (case keys then axes)
  // Everything to apply to the base scenario: fixed, then case, then axis values.
  std::vector<Override> overrides;
  // The raw value of a varied key ("" when the key is not varied).
  std::string value(const std::string& key) const {
    for (const auto& [k, v] : values)
      if (k == key) return v;
    return "";
  }
};

// Canonical raw TOML text of a value, so that "8", "8 " and 8 compare equal: parses "v = raw" and prints it
// back; a bare word becomes a quoted string (as --set treats it).
std::string normalize_value(const std::string& raw);
// The value as a table cell: strings without quotes, everything else as TOML.
std::string display_value(const std::string& raw);

// Builds a spec from --set texts: single values are fixed, lists and ranges become axes.
SweepSpec spec_from_sets(const std::string& scenario, const std::vector<std::string>& sets);
// Adds --set texts to a spec (a key that already is an axis is replaced).
void add_sets(SweepSpec& spec, const std::vector<std::string>& sets);

// Reads scenarios/sweeps/*.toml:
//   scenario = "../paper.toml"          # relative to the sweep file
//   [set]     workload.output_tokens = 64            (fixed)
//   [axes]    "edge.count" = [1, 10, 100]  or  split.layer = "0:32:4"  (nested tables flatten to dotted keys)
//   [[cases]] name = "opsc"  set = { "split.strategy" = "opsc", "split.layer" = 16 }
//   [[exclude]] "split.strategy" = "cloud-only"  "split.layer" = [4, 8]
// InputError names the file and key on anything malformed.
SweepSpec load_sweep_file(const std::string& path);

// Throws InputError (check_grid_size) on a grid of more than kMaxGridPoints points.
std::vector<GridPoint> expand_grid(const SweepSpec& spec);
int64_t grid_size(const SweepSpec& spec);  // before exclusions; saturates at INT64_MAX instead of overflowing
constexpr int64_t kMaxGridPoints = 10'000'000;
void check_grid_size(const SweepSpec& spec);  // InputError naming the origin and the axes when too large

// "--shard i/n" (1 <= i <= n): the points whose index % n == i - 1.
struct Shard {
  int64_t index = 1, count = 1;
  bool contains(int64_t point) const { return point % count == index - 1; }
  bool whole() const { return count == 1; }
};
Shard parse_shard(const std::string& text);

}  // namespace splitsim
