// Quantities with units, parsed once at the input boundary into SI doubles.
//
// Inside the code every quantity is a plain double in base units: seconds, bytes, bytes per second (data
// rates, as SimGrid uses them), operations per second, hertz. Unit strings exist only in TOML files and on
// the command line. "20Mbps" -> 2.5e6 (B/s), "5ms" -> 0.005 (s), "8GiB" -> 8589934592 (B),
// "21Tops" -> 2.1e13 (op/s), "0.5/s" -> 0.5 (1/s).
#pragma once
#include <string>
#include <string_view>

namespace splitsim {

enum class Dim { time, bytes, data_rate, compute_rate, frequency, power, energy, dimensionless };

std::string_view dim_name(Dim d);         // "a duration"
std::string_view dim_example(Dim d);      // "\"5ms\""

// Parses "<number><unit>" (spaces allowed between). Throws std::invalid_argument with a short reason on
// an unknown unit, a unit of another dimension, a missing unit, a negative / non-finite number, or a value
// that after unit scaling is neither 0 nor within its dimension's bounds (durations 1 ps..1e6 s, sizes
// 1e-6..1e18 B, data rates 1e-3..1e15 B/s, compute rates 1e-3..1e21 op/s, frequencies 1e-6..1e12 /s, power
// 1e-9..1e7 W, energy 1e-12..1e12 J;
// plain numbers: no subnormals). "1e308h" overflows to inf after scaling and is refused here.
double parse_quantity(std::string_view text, Dim expected);

// Human-readable rendering for tables: format_bytes(8.6e9) -> "8.00 GiB", format_time(0.0123) -> "12.3 ms".
std::string format_bytes(double bytes);
std::string format_time(double seconds);
std::string format_rate(double bytes_per_s);  // as bits per second: "20.0 Mbps"
std::string format_ops(double ops_per_s);     // "21.0 Tops/s"
std::string format_energy(double joules);     // "12.3 mJ", "4.56 J", "7.89 kJ"
std::string format_power(double watts);       // "850 mW", "12.5 W"

}  // namespace splitsim
