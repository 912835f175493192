#include <catch2/catch.hpp>

#include "core/units.hpp"

using splitsim::Dim;
using splitsim::parse_quantity;

TEST_CASE("units: quantities parse to SI doubles", "[units]") {
  CHECK(parse_quantity("20Mbps", Dim::data_rate) == Approx(2.5e6));
  CHECK(parse_quantity("5ms", Dim::time) == Approx(0.005));
  CHECK(parse_quantity("8GiB", Dim::bytes) == 8589934592.0);
  CHECK(parse_quantity("8GB", Dim::bytes) == 8e9);
  CHECK(parse_quantity("21Tops", Dim::compute_rate) == Approx(2.1e13));
  CHECK(parse_quantity("0.5/s", Dim::frequency) == 0.5);
  CHECK(parse_quantity(" 1.5 us ", Dim::time) == Approx(1.5e-6));
  CHECK(parse_quantity("51.2GB/s", Dim::data_rate) == Approx(51.2e9));
  CHECK(parse_quantity("1e3ms", Dim::time) == Approx(1.0));
  CHECK(parse_quantity("0.25", Dim::dimensionless) == 0.25);
}

TEST_CASE("units: bad quantities are rejected with a reason", "[units]") {
  CHECK_THROWS_WITH(parse_quantity("20", Dim::data_rate), "missing unit");
  CHECK_THROWS_WITH(parse_quantity("20furlongs", Dim::data_rate), "unknown unit 'furlongs'");
  CHECK_THROWS_WITH(parse_quantity("5ms", Dim::bytes), "unit 'ms' is a duration");
  CHECK_THROWS_WITH(parse_quantity("-5ms", Dim::time), "negative");
  CHECK_THROWS_WITH(parse_quantity("fast", Dim::time), "no number");
  CHECK_THROWS_WITH(parse_quantity("20MBps", Dim::data_rate), "unknown unit 'MBps'");  // bits vs bytes must be explicit
  CHECK_THROWS(parse_quantity("inf s", Dim::time));
}

TEST_CASE("units: formatting picks readable units", "[units]") {
  CHECK(splitsim::format_bytes(8589934592.0) == "8.00 GiB");
  CHECK(splitsim::format_time(0.0123) == "12.300 ms");
  CHECK(splitsim::format_rate(2.5e6) == "20.00 Mbps");
}

TEST_CASE("units: a quantity must be finite and in range after unit scaling", "[units][bad-input]") {
  // Finite numbers whose scaled value overflows, underflows to a subnormal, or leaves the dimension's range.
  CHECK_THROWS_WITH(parse_quantity("1e308h", Dim::time),
                    Catch::Matchers::StartsWith("out of range: inf s after units"));
  CHECK_THROWS_WITH(parse_quantity("1e-310/s", Dim::frequency), Catch::Matchers::StartsWith("out of range"));
  CHECK_THROWS_WITH(parse_quantity("1e-300s", Dim::time), Catch::Matchers::StartsWith("out of range"));
  CHECK_THROWS_WITH(parse_quantity("2e6s", Dim::time), Catch::Matchers::StartsWith("out of range"));
  CHECK_THROWS_WITH(parse_quantity("1e300TB", Dim::bytes), Catch::Matchers::StartsWith("out of range"));
  CHECK_THROWS_WITH(parse_quantity("1e16Gbps", Dim::data_rate), Catch::Matchers::StartsWith("out of range"));
  CHECK_THROWS_WITH(parse_quantity("4.9e-324", Dim::dimensionless), Catch::Matchers::StartsWith("out of range"));
  CHECK_THROWS_WITH(parse_quantity("nan ms", Dim::time), "not a finite number");
  CHECK_THROWS_WITH(parse_quantity("1e999ms", Dim::time), "out of range of a double");
  // The ends of each range, and 0, are accepted.
  CHECK(parse_quantity("1e6s", Dim::time) == 1e6);
  CHECK(parse_quantity("0.001ns", Dim::time) == Approx(1e-12));
  CHECK(parse_quantity("0s", Dim::time) == 0);
  CHECK(parse_quantity("0/s", Dim::frequency) == 0);
  CHECK(parse_quantity("1e-6/s", Dim::frequency) == 1e-6);
  CHECK(parse_quantity("1e18B", Dim::bytes) == 1e18);
}
