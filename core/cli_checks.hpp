// Flag checks that read like the scenario errors: "--steps: expected an integer >= 1, got 0" (CLI11 puts the
// flag's name in front). Only the *_cli.cpp files include this, as they alone include CLI11.
#pragma once
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace splitsim::cli {

inline CLI::Validator int_in(int64_t lo, int64_t hi) {
  const std::string what =
      hi == INT64_MAX ? fmt::format("an integer >= {}", lo) : fmt::format("an integer in {}..{}", lo, hi);
  return CLI::Validator(
      [lo, hi, what](std::string& s) -> std::string {
        int64_t v = 0;
        if (!CLI::detail::lexical_cast(s, v) || v < lo || v > hi)
          return fmt::format("expected {}, got \"{}\"", what, s);
        return {};
      },
      what);
}

inline CLI::Validator at_least(int64_t lo) { return int_in(lo, INT64_MAX); }

// CLI11 reads "nan", "inf" and "1e999" as doubles: every floating-point flag goes through this (main.cpp adds it
// to each one), so no flag can bring a non-finite number in.
inline CLI::Validator finite_number() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        const char* begin = s.c_str();
        char* end = nullptr;
        errno = 0;
        const double v = std::strtod(begin, &end);
        if (end == begin) return {};  // not a number at all: CLI11's conversion names it
        if (!std::isfinite(v) || errno == ERANGE) return fmt::format("expected a finite number, got \"{}\"", s);
        return {};
      },
      "FINITE");
}

}  // namespace splitsim::cli
