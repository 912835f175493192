#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "hwprofiles/hw_profile.hpp"

using namespace splitsim;

namespace {
bool has_provenance(const Sourced& s) {
  for (const char* kind : {"datasheet", "paper", "measured", "fitted", "assumption", "price"})
    if (s.source.rfind(kind, 0) == 0) return true;
  return false;
}
}  // namespace

TEST_CASE("profiles: every shipped device profile loads and says where each number came from", "[profiles]") {
  auto names = hw_profile_names();
  for (const char* want : {"jetson-xavier-nx", "jetson-orin-nano", "jetson-orin-nano-super", "jetson-orin-nx-8gb",
                           "jetson-orin-nx-16gb", "jetson-agx-orin", "raspberry-pi-5", "a6000", "a100-80g", "h100-sxm",
                           "h100-pcie", "a100-80g-pcie", "h200", "rtx-4090", "l4", "l40s"})
    CHECK(std::find(names.begin(), names.end(), want) != names.end());
  for (const auto& n : names) {
    INFO(n);
    HwProfile h = load_hw_profile(n);
    CHECK(h.name == n);
    for (const Sourced* s : {&h.memory_capacity, &h.memory_bandwidth, &h.runtime_overhead, &h.launch_overhead,
                             &h.efficiency_compute, &h.efficiency_memory})
      CHECK(has_provenance(*s));
    if (h.efficiency_memory_quantized) CHECK(has_provenance(*h.efficiency_memory_quantized));
    for (const auto& [prec, s] : h.peak) {
      INFO(prec);
      CHECK(has_provenance(s));
      CHECK(s.value > 0);
    }
  }
  // Every rented GPU profile has a sourced price; this host's CPU and the edge devices have none.
  for (const char* priced : {"a6000", "a100-80g", "a100-80g-pcie", "h100-sxm", "h100-pcie", "h200", "rtx-4090", "l4", "l40s"}) {
    INFO(priced);
    const HwProfile h = load_hw_profile(priced);
    REQUIRE(h.usd_per_hour);
    CHECK(h.usd_per_hour->source.rfind("price: ", 0) == 0);
    CHECK(h.usd_per_hour->value > 0.1);
    CHECK(h.usd_per_hour->value < 20);
  }
  CHECK_FALSE(load_hw_profile("host-cpu-server").usd_per_hour);
  CHECK_FALSE(load_hw_profile("jetson-xavier-nx").usd_per_hour);
  HwProfile nx = load_hw_profile("jetson-xavier-nx");
  CHECK(nx.kind == "edge");
  CHECK(nx.memory_capacity.value == 8.0 * 1024 * 1024 * 1024);
  CHECK(nx.memory_bandwidth.value == 51.2e9);
  HwProfile h100 = load_hw_profile("h100-sxm");
  CHECK(h100.peak.count("int4") == 0);
  CHECK(h100.peak_for("int4") == h100.peak.at("int8").value);  // no int4 path: falls back to int8
  HwProfile pi = load_hw_profile("raspberry-pi-5");
  CHECK(pi.peak_for("fp16") == pi.peak.at("fp16").value);
}

TEST_CASE("profiles: every shipped link loads with provenance", "[profiles]") {
  for (const char* want : {"wifi5", "wifi6", "lte", "5g", "ethernet-1g", "ethernet-10g"}) {
    INFO(want);
    LinkProfile l = load_link(want);
    CHECK(has_provenance(l.uplink));
    CHECK(has_provenance(l.downlink));
    CHECK(has_provenance(l.latency));
    CHECK(l.uplink.value > 0);
  }
  CHECK(load_link("wifi5").uplink.value == 150e6 / 8);
}

TEST_CASE("profiles: bad profiles are one-line errors", "[profiles][bad-input]") {
  namespace fs = std::filesystem;
  fs::path p = fs::temp_directory_path() / "splitsim_bad_profile.toml";
  std::ofstream(p) << "name = \"x\"\nkind = \"edge\"\nmemory_capacity = \"8GiB\"\n";
  CHECK_THROWS_WITH(load_hw_profile_file(p.string()),
                    p.string() + ": memory_capacity: expected { value = \"8GiB\", source = \"...\" }, got \"8GiB\"");
  std::ofstream(p) << "name = \"x\"\nkind = \"fridge\"\n";
  CHECK_THROWS_WITH(load_hw_profile_file(p.string()), p.string() + ": kind: expected one of edge|cloud, got \"fridge\"");
  // A zero peak, and a measured-table name that is not a file name, are refused naming the key.
  const std::string base = fmt::format("name = \"x\"\nkind = \"edge\"\n{}\n{}\n{}\n{}\n",
                                       "memory_capacity = { value = \"8GiB\", source = \"assumption: t\" }",
                                       "memory_bandwidth = { value = \"68GB/s\", source = \"assumption: t\" }",
                                       "runtime_overhead = { value = \"1GiB\", source = \"assumption: t\" }",
                                       "launch_overhead = { value = \"8us\", source = \"assumption: t\" }");
  const std::string eff = "[efficiency]\ncompute = { value = 0.5, source = \"assumption: t\" }\n"
                          "memory = { value = 0.7, source = \"assumption: t\" }\n";
  std::ofstream(p) << base << "[peak]\nfp16 = { value = \"0Tflops\", source = \"assumption: t\" }\n" << eff;
  CHECK_THROWS_WITH(load_hw_profile_file(p.string()), Catch::Matchers::Contains("peak.fp16.value: expected a positive compute rate"));
  for (const std::string& bad : {std::string("../../x"), std::string(5000, 'm'), std::string(".hidden")}) {
    std::ofstream(p) << base << "measured = \"" << bad << "\"\n[peak]\nfp16 = { value = \"10Tflops\", source = \"assumption: t\" }\n"
                     << eff;
    CHECK_THROWS_WITH(load_hw_profile_file(p.string()), Catch::Matchers::Contains("measured: expected \"auto\" or a file name"));
  }
  // The quantized-stream efficiency is a fraction, as the others are.
  std::ofstream(p) << base << "[peak]\nfp16 = { value = \"10Tflops\", source = \"assumption: t\" }\n" << eff
                   << "memory_quantized = { value = 1.5, source = \"assumption: t\" }\n";
  CHECK_THROWS_WITH(load_hw_profile_file(p.string()),
                    p.string() + ": efficiency.memory_quantized.value: expected a fraction in (0, 1], got 1.5");
  // A price must be positive, and only servers are priced.
  const std::string cloud = base.substr(0, base.find("kind")) + "kind = \"cloud\"" + base.substr(base.find('\n', base.find("kind")));
  std::ofstream(p) << cloud << "usd_per_hour = { value = 0, source = \"price: t\" }\n[peak]\nfp16 = { value = \"10Tflops\", source = \"assumption: t\" }\n" << eff;
  CHECK_THROWS_WITH(load_hw_profile_file(p.string()), Catch::Matchers::Contains("usd_per_hour.value: expected a price in US dollars per hour"));
  std::ofstream(p) << base << "usd_per_hour = { value = 1, source = \"price: t\" }\n[peak]\nfp16 = { value = \"10Tflops\", source = \"assumption: t\" }\n" << eff;
  CHECK_THROWS_WITH(load_hw_profile_file(p.string()), Catch::Matchers::Contains("usd_per_hour: expected no price on an edge profile"));
  fs::remove(p);
  CHECK_THROWS_WITH(load_hw_profile("nope"), Catch::Matchers::StartsWith("unknown hardware profile \"nope\""));
  CHECK_THROWS_WITH(load_link("nope"), Catch::Matchers::StartsWith("unknown link profile \"nope\""));
}
