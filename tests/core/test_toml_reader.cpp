#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "core/toml_reader.hpp"

using namespace splitsim;

namespace {
TomlReader reader(const char* text) { return TomlReader(parse_toml_text(text, "x.toml")); }
}  // namespace

TEST_CASE("toml: malformed input names file, line and column", "[toml]") {
  CHECK_THROWS_AS(parse_toml_text("a = [1, 2\nb = 3\n", "bad.toml"), InputError);
  CHECK_THROWS_WITH(parse_toml_text("a = [1, 2\nb = 3\n", "bad.toml"),
                    Catch::Matchers::StartsWith("bad.toml:") && Catch::Matchers::Contains("malformed TOML"));
  CHECK_THROWS_WITH(parse_toml_file("does/not/exist.toml"), "does/not/exist.toml: cannot open file");
}

TEST_CASE("toml: typed getters report file:key: expected, got", "[toml]") {
  auto r = reader("[link]\nbandwidth = \"20\"\nlayers = 40\nname = 3\n");
  auto link = r.table("link");
  CHECK_THROWS_WITH(link.quantity("bandwidth", Dim::data_rate),
                    "x.toml: link.bandwidth: expected a rate like \"20Mbps\", got \"20\" (missing unit)");
  CHECK_THROWS_WITH(link.integer("layers", 0, 32), "x.toml: link.layers: expected an integer in [0, 32], got 40");
  CHECK_THROWS_WITH(link.str("name"), "x.toml: link.name: expected a string, got 3");
  CHECK_THROWS_WITH(link.str("missing"), "x.toml: link.missing: expected a string, got nothing (key missing)");
  CHECK(link.integer_or("absent", 0, 10, 7) == 7);
}

TEST_CASE("toml: unknown keys are rejected after loading", "[toml]") {
  auto r = reader("a = 1\n[t]\nb = 2\nc = 3\n");
  r.integer("a", 0, 9);
  r.table("t").integer("b", 0, 9);
  CHECK_THROWS_WITH(r.expect_all_used(), "x.toml: t.c: expected one of the known keys (b), got unknown key");
}

TEST_CASE("toml: sourced values need a provenance", "[toml]") {
  auto r = reader("bw = { value = \"10GB/s\", source = \"datasheet: X\" }\nnosrc = { value = \"1GB/s\", source = \"\" }\n"
                  "plain = \"1GB/s\"\n");
  auto s = r.sourced("bw", Dim::data_rate);
  CHECK(s.value == 1e10);
  CHECK(s.source == "datasheet: X");
  CHECK_THROWS_WITH(r.sourced("nosrc", Dim::data_rate), Catch::Matchers::Contains("nosrc.source: expected a non-empty provenance"));
  CHECK_THROWS_WITH(r.sourced("plain", Dim::data_rate), Catch::Matchers::Contains("plain: expected { value = "));
}
