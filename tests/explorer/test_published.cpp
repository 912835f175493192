// Published measurements as a validation set (explorer/published.hpp): the CSV is input and is refused with one line
// naming file, line and column; each point is costed from its profile's roofline at the width and group size that
// store its bytes; the shipped set covers enough devices and models and meets the held-out targets.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.hpp"
#include "core/scenario.hpp"
#include "explorer/published.hpp"
#include "hwprofiles/cost_model.hpp"

using namespace splitsim;

namespace {

const std::string kHeader =
    "id,device,device_note,model,model_note,software,quant,weight_bits,group_size,batch,context,metric,value,unit,"
    "source_url,source_locator,role\n";
const std::string kRow =
    "q1,rtx-4090,RTX 4090,llama2-7b,llama 7B Q4_0,llama.cpp,Q4_0,4.5,32,1,128,decode_tps,150,tokens/s,"
    "https://example.org/x,row tg128,fit\n";

std::string write(const std::string& name, const std::string& text) {
  const auto p = std::filesystem::temp_directory_path() / ("splitsim-published-" + std::to_string(::getpid()) + name);
  std::ofstream(p) << text;
  return p.string();
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("published points: a malformed file is refused with one line naming file, line and column", "[published]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {replaced(kRow, "decode_tps", "speed"), "metric"},
      {replaced(kRow, ",150,", ",-150,"), "value"},
      {replaced(kRow, ",150,", ",nan,"), "value"},
      {replaced(kRow, "tokens/s", "ms"), "unit"},
      {replaced(kRow, ",4.5,", ",40,"), "weight_bits"},
      {replaced(kRow, ",1,128,", ",0,128,"), "batch"},
      {replaced(kRow, ",fit", ",training"), "role"},
      {replaced(kRow, "https://example.org/x", ""), "source_url"},
      {kRow + kRow, "id"},
  };
  for (const auto& [row, column] : cases) {
    INFO(column);
    const std::string path = write(".csv", kHeader + row);
    std::string msg;
    try {
      read_published(path);
    } catch (const InputError& e) {
      msg = e.what();
    }
    CHECK(msg.find(path + ": line ") != std::string::npos);
    CHECK(msg.find(column) != std::string::npos);
    CHECK(msg.find('\n') == std::string::npos);
    std::filesystem::remove(path);
  }
  const std::string no_role = write("-nr.csv", replaced(kHeader, ",role", "") + replaced(kRow, ",fit", ""));
  CHECK_THROWS_AS(read_published(no_role), InputError);
  std::filesystem::remove(no_role);
  const std::string unknown = write("-dev.csv", kHeader + replaced(kRow, "rtx-4090,", "rtx-9999,"));
  const PublishedPoint p = read_published(unknown).at(0);
  CHECK_THROWS_WITH(predict_published(p), Catch::Contains("line 2") && Catch::Contains("rtx-9999"));
  std::filesystem::remove(unknown);
}

TEST_CASE("published points: costed from the profile's roofline at the bytes the published format stores", "[published]") {
  const std::string path = write("-ok.csv", kHeader + kRow + replaced(replaced(kRow, "q1,", "q2,"), "Q4_0,4.5,32", "Q8_0,8.5,32") +
                                                replaced(replaced(kRow, "q1,", "q3,"), "rtx-4090,", "h200,"));
  const auto points = read_published(path);
  std::filesystem::remove(path);
  const PublishedPrediction q4 = predict_published(points[0]), q8 = predict_published(points[1]);
  // 4.5 bits per weight: 4-bit codes with a 4-byte header per 64 weights; 8.5 bits: 8-bit codes, the same groups.
  CHECK(q4.bits == 4);
  CHECK(q4.group_size == 64);
  CHECK(q8.bits == 8);
  CHECK(q8.group_size == 64);
  CHECK(matrix_bytes(4096, 4096, q4.bits, q4.group_size) == Approx(4096.0 * 4096 * 4.5 / 8));
  // The prediction is one decode step of the whole model at half the generated span, on the roofline.
  Scenario sc = load_scenario(data_dir() + "/scenarios/paper-llama2-7b-xavier-a6000.toml",
                              parse_overrides({"split.strategy=cloud-only", "server.profile=rtx-4090", "split.cloud_bits=4",
                                               "split.group_size=64", "split.kv_bits=16", "workload.max_seq_len=129",
                                      "workload.prompt_tokens=1", "workload.output_tokens=1"}));
  const System sys = resolve_system(sc);
  CHECK(q4.predicted == Approx(1.0 / CostModel(sys).server_step(1, 64.0)).epsilon(1e-9));
  // Memory-bound decode: about twice the bytes, a bit more than half the speed.
  CHECK(q8.predicted < q4.predicted);
  CHECK(q8.predicted > 0.45 * q4.predicted);
  // A profile with measured kernel tables (h200) is validated on its roofline, not on this project's kernels.
  const PublishedPrediction h = predict_published(points[2]);
  sc = load_scenario(data_dir() + "/scenarios/paper-llama2-7b-xavier-a6000.toml",
                     parse_overrides({"split.strategy=cloud-only", "server.profile=h200", "split.cloud_bits=4",
                                      "split.group_size=64", "split.kv_bits=16", "workload.max_seq_len=129",
                                      "workload.prompt_tokens=1", "workload.output_tokens=1"}));
  System h200 = resolve_system(sc);
  REQUIRE(h200.server.gpu);
  CHECK(h.predicted != Approx(1.0 / CostModel(h200).server_step(1, 64.0)).epsilon(0.01));
  h200.server.gpu.reset();
  CHECK(h.predicted == Approx(1.0 / CostModel(h200).server_step(1, 64.0)).epsilon(1e-9));
}

TEST_CASE("published points: quantized weight streams run at the profile's quantized efficiency and 16-bit ones do not", "[published]") {
  auto step = [](int bits, bool quantized_efficiency) {
    System sys = resolve_system(load_scenario(
        data_dir() + "/scenarios/paper-llama2-7b-xavier-a6000.toml",
        parse_overrides({"split.strategy=cloud-only", "server.profile=rtx-4090", fmt::format("split.cloud_bits={}", bits),
                         "split.kv_bits=16", "workload.max_seq_len=129", "workload.prompt_tokens=1",
                         "workload.output_tokens=1"})));
    REQUIRE(sys.server.efficiency_memory_quantized);
    CHECK(sys.server.efficiency_memory_quantized->value < sys.server.efficiency_memory.value);
    if (!quantized_efficiency) sys.server.efficiency_memory_quantized.reset();
    return CostModel(sys).server_step(1, 64.0);
  };
  // A 4-bit decode is memory-bound: it slows in proportion to the lower efficiency of its weight stream.
  CHECK(step(4, true) > 1.2 * step(4, false));
  CHECK(step(16, true) == step(16, false));
}

TEST_CASE("published points: the shipped profiles are at their fit with a quantized efficiency where three shapes identify it", "[published]") {
  for (const ProfileFit& f : fit_published(read_published(data_dir() + "/scenarios/validate/published.csv"))) {
    INFO(f.device);
    if (f.decode_points.empty()) continue;
    CHECK(f.efficiency_memory == Approx(f.was_efficiency_memory).margin(0.0051));
    CHECK(f.efficiency_memory_quantized == Approx(f.was_efficiency_memory_quantized).margin(0.0051));
    CHECK(f.launch_overhead == Approx(f.was_launch_overhead).margin(0.13e-6));
    // The RTX 4090 has Q4_K_M points of two models and an F16 one; the L40S and H100 one of each, which fit one
    // efficiency and a launch overhead.
    CHECK(f.separated == (f.device == "rtx-4090"));
    if (f.separated) CHECK(f.efficiency_memory_quantized < f.efficiency_memory - 0.1);
  }
}

TEST_CASE("published points: the shipped set covers the devices and models and keeps its held-out target", "[published]") {
  const auto points = read_published(data_dir() + "/scenarios/validate/published.csv");
  std::set<std::string> devices, models;
  int held = 0;
  for (const PublishedPoint& p : points) {
    devices.insert(p.device);
    models.insert(p.model);
    held += p.role == "held-out";
  }
  CHECK(points.size() >= 16);
  CHECK(devices.size() >= 5);
  CHECK(models.size() >= 2);
  CHECK(3 * held >= static_cast<int>(points.size()));  // at least a third kept out of any fitting
  std::vector<PublishedPrediction> predictions;
  for (const PublishedPoint& p : points) predictions.push_back(predict_published(p));
  // The profiles' fitted numbers reproduce their fit points, and the held-out decode points stay within the mean
  // target (their worst is reported, not asserted: README says which point misses and why).
  for (const PublishedPrediction& x : predictions)
    if (x.point.role == "fit") CHECK(std::abs(x.error()) < 0.10);
  CHECK(published_errors(predictions, "held-out", "decode_tps").mean_abs <= 0.15);
}
