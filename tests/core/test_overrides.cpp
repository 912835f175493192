#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "core/overrides.hpp"

using namespace splitsim;

TEST_CASE("overrides: single values, lists and ranges", "[overrides]") {
  auto o = parse_override("split.layer=8");
  CHECK(o.key == "split.layer");
  CHECK(o.values == std::vector<std::string>{"8"});
  CHECK(parse_override("edge.count=1,10,100").values == std::vector<std::string>{"1", "10", "100"});
  CHECK(parse_override("split.layer=0:32:8").values == std::vector<std::string>{"0", "8", "16", "24", "32"});
  CHECK(parse_override("split.layer=0:10:4").values == std::vector<std::string>{"0", "4", "8"});
  CHECK(parse_override("codec.tabq_eps=0.001:0.003:0.001").values.size() == 3);
  CHECK(parse_override("codec.tabq_bits=[2,4,8]").values == std::vector<std::string>{"[2,4,8]"});
  CHECK(parse_override("edge.profile=jetson-orin-nano").values == std::vector<std::string>{"jetson-orin-nano"});
}

TEST_CASE("overrides: malformed ones are one-line errors naming --set", "[overrides]") {
  CHECK_THROWS_WITH(parse_override("split.layer"), "--set split.layer: expected KEY=VALUE[,VALUE...] like split.layer=8");
  CHECK_THROWS_WITH(parse_override("split.layer="), "--set split.layer=: expected a value after '='");
  CHECK_THROWS_WITH(parse_override("split.layer=8:0"),
                    "--set split.layer=8:0: expected a range start:stop[:step] with stop >= start and step > 0");
  CHECK_THROWS_WITH(parse_override("a b=1"), "--set a b=1: expected a dotted key like split.layer");
  CHECK_THROWS_WITH(parse_override("edge.count=1,,3"), "--set edge.count=1,,3: expected a value between commas");
}

TEST_CASE("overrides: applied into the document with their types", "[overrides]") {
  auto src = parse_toml_text("[split]\nlayer = 4\n", "s.toml");
  apply_override(*src, "split.layer", "8");
  apply_override(*src, "edge.profile", "jetson-orin-nano");
  apply_override(*src, "codec.tabq_eps", "0.002");
  CHECK(src->root["split"]["layer"].value<int64_t>() == 8);
  CHECK(src->root["edge"]["profile"].value<std::string>() == "jetson-orin-nano");
  CHECK(src->root["codec"]["tabq_eps"].value<double>() == 0.002);
  CHECK(src->overridden.count("split.layer") == 1);
  CHECK_THROWS_WITH(apply_single_overrides(*src, {parse_override("split.layer=1,2")}),
                    "--set split.layer=1,2: expected one value here (lists and ranges are for splitsim sweep)");
  CHECK_THROWS_WITH(apply_override(*src, "split.layer.x", "1"),
                    "--set split.layer.x=1: split.layer is not a table in s.toml");
}

TEST_CASE("overrides: ranges of any finite or non-finite bounds are expanded safely or refused",
          "[overrides][bad-input]") {
  for (const char* r : {"nan:1", "0:nan", "0:inf", "-inf:0", "0:32:nan", "0:32:inf"})
    CHECK_THROWS_WITH(parse_override(std::string("split.layer=") + r), Catch::Matchers::Contains("of finite numbers"));
  for (const char* r : {"0:1e300", "0:32:1e-300", "-1e308:1e308", "0:1e-300:1e-310"})
    CHECK_THROWS_WITH(parse_override(std::string("split.layer=") + r),
                      Catch::Matchers::Contains("more than 100000 points"));
  CHECK_THROWS_WITH(parse_override("seed=1e16:2e16:0.5"), Catch::Matchers::Contains("more than 100000 points"));
  CHECK_THROWS_WITH(parse_override("seed=9007199254740992:9007199254740994"),
                    Catch::Matchers::Contains("a step that changes"));
  CHECK(parse_override("x=1e300:1e300").values == std::vector<std::string>{"1e+300"});
  CHECK(parse_override("x=-2:2:2").values == std::vector<std::string>{"-2", "0", "2"});
  // A value on several lines would end its TOML line early: refused, as are other control characters.
  CHECK_THROWS_WITH(parse_override("split.layer=8\ny=1"), Catch::Matchers::Contains("on one line"));
  auto src = parse_toml_text("[split]\nlayer = 4\n", "s.toml");
  CHECK_THROWS_WITH(apply_override(*src, "split.layer", "8\ny=1"), Catch::Matchers::Contains("on one line"));
  apply_override(*src, "name", "8 # a comment");
  CHECK(src->root["name"].value<int64_t>() == 8);
}
