#include "core/units.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <fmt/format.h>
#include <stdexcept>

namespace splitsim {
namespace {

struct UnitRow {
  std::string_view name;
  Dim dim;
  double factor;  // value in SI base units for 1 of this unit
};

constexpr double kB = 1e3, MB = 1e6, GB = 1e9, TB = 1e12;
constexpr double KiB = 1024.0, MiB = KiB * 1024, GiB = MiB * 1024, TiB = GiB * 1024;

// Bits vs bytes is case-sensitive ("Mbps" vs "MB/s"); everything else is spelled as in datasheets.
constexpr std::array kUnits = {
    UnitRow{"ns", Dim::time, 1e-9},       UnitRow{"us", Dim::time, 1e-6},      UnitRow{"ms", Dim::time, 1e-3},
    UnitRow{"s", Dim::time, 1.0},         UnitRow{"min", Dim::time, 60.0},     UnitRow{"h", Dim::time, 3600.0},
    UnitRow{"B", Dim::bytes, 1.0},        UnitRow{"KB", Dim::bytes, kB},       UnitRow{"kB", Dim::bytes, kB},
    UnitRow{"MB", Dim::bytes, MB},        UnitRow{"GB", Dim::bytes, GB},       UnitRow{"TB", Dim::bytes, TB},
    UnitRow{"KiB", Dim::bytes, KiB},      UnitRow{"MiB", Dim::bytes, MiB},     UnitRow{"GiB", Dim::bytes, GiB},
    UnitRow{"TiB", Dim::bytes, TiB},      UnitRow{"bps", Dim::data_rate, 1.0 / 8},
    UnitRow{"kbps", Dim::data_rate, kB / 8}, UnitRow{"Kbps", Dim::data_rate, kB / 8},
    UnitRow{"Mbps", Dim::data_rate, MB / 8}, UnitRow{"Gbps", Dim::data_rate, GB / 8},
    UnitRow{"B/s", Dim::data_rate, 1.0},  UnitRow{"KB/s", Dim::data_rate, kB}, UnitRow{"kB/s", Dim::data_rate, kB},
    UnitRow{"MB/s", Dim::data_rate, MB},  UnitRow{"GB/s", Dim::data_rate, GB}, UnitRow{"TB/s", Dim::data_rate, TB},
    UnitRow{"MiB/s", Dim::data_rate, MiB}, UnitRow{"GiB/s", Dim::data_rate, GiB},
    UnitRow{"flops", Dim::compute_rate, 1.0}, UnitRow{"Gflops", Dim::compute_rate, GB},
    UnitRow{"GFLOPS", Dim::compute_rate, GB}, UnitRow{"Tflops", Dim::compute_rate, TB},
    UnitRow{"TFLOPS", Dim::compute_rate, TB}, UnitRow{"ops", Dim::compute_rate, 1.0},
    UnitRow{"Gops", Dim::compute_rate, GB},   UnitRow{"GOPS", Dim::compute_rate, GB},
    UnitRow{"Tops", Dim::compute_rate, TB},   UnitRow{"TOPS", Dim::compute_rate, TB},
    UnitRow{"Hz", Dim::frequency, 1.0},   UnitRow{"/s", Dim::frequency, 1.0},  UnitRow{"kHz", Dim::frequency, kB},
    UnitRow{"MHz", Dim::frequency, MB},   UnitRow{"GHz", Dim::frequency, GB},  UnitRow{"/min", Dim::frequency, 1.0 / 60},
    UnitRow{"/h", Dim::frequency, 1.0 / 3600},
    UnitRow{"uW", Dim::power, 1e-6},      UnitRow{"mW", Dim::power, 1e-3},     UnitRow{"W", Dim::power, 1.0},
    UnitRow{"kW", Dim::power, 1e3},
    UnitRow{"uJ", Dim::energy, 1e-6},     UnitRow{"mJ", Dim::energy, 1e-3},    UnitRow{"J", Dim::energy, 1.0},
    UnitRow{"kJ", Dim::energy, 1e3},      UnitRow{"mWh", Dim::energy, 3.6},    UnitRow{"Wh", Dim::energy, 3600.0},
    UnitRow{"kWh", Dim::energy, 3.6e6},
};

// What a quantity may be after unit scaling: 0, or a value in [min, max] of the base unit. The bounds keep
// every derived quantity finite (1 / rate, bytes / bandwidth, time + duration) and far from the range
// where a simulation clock in doubles loses its microseconds: a duration above 1e6 s (11.6 days), a rate
// whose reciprocal exceeds that, a subnormal number are all refused at the input.
struct Bounds {
  double min, max;
  std::string_view unit;
};

Bounds bounds_of(Dim d) {
  switch (d) {
    case Dim::time: return {1e-12, 1e6, "s"};
    case Dim::bytes: return {1e-6, 1e18, "B"};
    case Dim::data_rate: return {1e-3, 1e15, "B/s"};
    case Dim::compute_rate: return {1e-3, 1e21, "op/s"};
    case Dim::frequency: return {1e-6, 1e12, "/s"};
    case Dim::power: return {1e-9, 1e7, "W"};
    case Dim::energy: return {1e-12, 1e12, "J"};
    case Dim::dimensionless: break;
  }
  return {std::numeric_limits<double>::min(), std::numeric_limits<double>::max(), ""};
}

double in_bounds(double v, Dim d) {
  const Bounds b = bounds_of(d);
  if (v == 0 || (v >= b.min && v <= b.max)) return v;
  throw std::invalid_argument(fmt::format("out of range: {:g}{}{} after units, expected 0 or {:g}..{:g}{}{}", v,
                                          b.unit.empty() ? "" : " ", b.unit, b.min, b.max, b.unit.empty() ? "" : " ",
                                          b.unit));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view dim_name(Dim d) {
  switch (d) {
    case Dim::time: return "a duration";
    case Dim::bytes: return "a size";
    case Dim::data_rate: return "a rate";
    case Dim::compute_rate: return "a compute rate";
    case Dim::frequency: return "a frequency";
    case Dim::power: return "a power";
    case Dim::energy: return "an energy";
    case Dim::dimensionless: return "a number";
  }
  return "a quantity";
}

std::string_view dim_example(Dim d) {
  switch (d) {
    case Dim::time: return "\"5ms\"";
    case Dim::bytes: return "\"8GiB\"";
    case Dim::data_rate: return "\"20Mbps\"";
    case Dim::compute_rate: return "\"21Tops\"";
    case Dim::frequency: return "\"0.5/s\"";
    case Dim::power: return "\"15W\"";
    case Dim::energy: return "\"50mJ\"";
    case Dim::dimensionless: return "0.5";
  }
  return "";
}

double parse_quantity(std::string_view text, Dim expected) {
  std::string_view s = trim(text);
  // std::from_chars for double is in libstdc++ 11+; it does not accept a leading '+', which is fine.
  double value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec == std::errc::result_out_of_range) throw std::invalid_argument("out of range of a double");
  if (ec != std::errc{}) throw std::invalid_argument("no number");
  std::string_view unit = trim(std::string_view(ptr, static_cast<size_t>(s.data() + s.size() - ptr)));
  if (!std::isfinite(value)) throw std::invalid_argument("not a finite number");
  if (value < 0) throw std::invalid_argument("negative");
  if (expected == Dim::dimensionless) {
    if (!unit.empty()) throw std::invalid_argument("unexpected unit '" + std::string(unit) + "'");
    return in_bounds(value, expected);
  }
  if (unit.empty()) throw std::invalid_argument("missing unit");
  for (const auto& row : kUnits) {
    if (row.name != unit) continue;
    if (row.dim != expected)
      throw std::invalid_argument("unit '" + std::string(unit) + "' is " + std::string(dim_name(row.dim)));
    return in_bounds(value * row.factor, expected);
  }
  throw std::invalid_argument("unknown unit '" + std::string(unit) + "'");
}

std::string format_bytes(double b) {
  if (b >= GiB) return fmt::format("{:.2f} GiB", b / GiB);
  if (b >= MiB) return fmt::format("{:.2f} MiB", b / MiB);
  if (b >= KiB) return fmt::format("{:.2f} KiB", b / KiB);
  return fmt::format("{:.0f} B", b);
}

std::string format_time(double s) {
  double a = std::fabs(s);
  if (a >= 1.0) return fmt::format("{:.3f} s", s);
  if (a >= 1e-3) return fmt::format("{:.3f} ms", s * 1e3);
  if (a >= 1e-6) return fmt::format("{:.3f} us", s * 1e6);
  if (a == 0.0) return "0";
  return fmt::format("{:.1f} ns", s * 1e9);
}

std::string format_rate(double bps) {
  double bits = bps * 8;
  if (bits >= 1e9) return fmt::format("{:.2f} Gbps", bits / 1e9);
  if (bits >= 1e6) return fmt::format("{:.2f} Mbps", bits / 1e6);
  return fmt::format("{:.2f} kbps", bits / 1e3);
}

std::string format_energy(double j) {
  const double a = std::fabs(j);
  if (a >= 1e3) return fmt::format("{:.2f} kJ", j / 1e3);
  if (a >= 1.0) return fmt::format("{:.3f} J", j);
  if (a >= 1e-3) return fmt::format("{:.2f} mJ", j * 1e3);
  if (a == 0.0) return "0 J";
  return fmt::format("{:.2f} uJ", j * 1e6);
}

std::string format_power(double w) {
  if (std::fabs(w) >= 1.0) return fmt::format("{:.2f} W", w);
  return fmt::format("{:.1f} mW", w * 1e3);
}

std::string format_ops(double ops) {
  if (ops >= 1e12) return fmt::format("{:.2f} Tops/s", ops / 1e12);
  return fmt::format("{:.2f} Gops/s", ops / 1e9);
}

}  // namespace splitsim
