// GPU kernel calibrations (core/formats/gpu_calibration.hpp) and the costs the cost model takes from them
// (hwprofiles/gpu_costs.hpp): the file round-trips, bad files are refused with one line naming file and key, and a
// profile that names a calibration is costed from it (a silent fall-back to the roofline fails these tests).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "core/formats/gpu_calibration.hpp"
#include "hwprofiles/cost_model.hpp"
#include "hwprofiles/gpu_costs.hpp"

using namespace splitsim;

namespace {

std::string repo(const std::string& rel) { return std::string(SPLITSIM_SOURCE_DIR) + "/" + rel; }

struct TempDir {
  std::filesystem::path path;
  TempDir() : path(std::filesystem::temp_directory_path() / ("splitsim-gpu-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    const auto p = path / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
};

GpuCalibration sample() {
  GpuCalibration c;
  c.device = "Test GPU 9000";
  c.slug = "test-gpu-9000";
  c.host = "h";
  c.date = "2026-12-04T00:00:00Z";
  c.command = "splitsim calibrate --backend cuda";
  c.source = "measured: h (Test GPU 9000), 2026-12-04T00:00:00Z, splitsim calibrate --backend cuda";
  c.compute_capability = "9.0";
  c.sm_count = 100;
  c.sm_clock_mhz = 1500;
  c.memory_clock_mhz = 2000;
  c.memory_bus_bits = 4096;
  c.l2_bytes = 50331648;
  c.memory_bytes = 80000000000;
  c.driver = "13.0";
  c.cuda_runtime = "13.0";
  c.references = {c.source, 3e12, 2.5e12, 5e10, 4e10, 4e-6, 9e-6, 6e13, 7e13};
  c.gemv.push_back({4, 128, c.source, {4096, 8192}, {4096, 8192}, {8912896, 35651584}, {1e-5, 2.5e-5}});
  c.gemv.push_back({8, 128, c.source, {4096}, {4096}, {17301504}, {1.2e-5}});
  c.gemm.push_back({4, 128, 4096, 4096, c.source, {16, 128, 2048}, {4e-5, 5e-5, 6e-4}});
  c.codec.push_back({"ts-tabq", 4096, c.source, {1, 128}, {2e-5, 3e-5}, {4e-6, 5e-6}, {8.1, 8.0625}});
  return c;
}

// The message of the InputError that reading `path` throws ("" if none).
std::string refusal(const std::string& path) {
  try {
    read_gpu_calibration(path);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

// Piecewise linear through (xs, ys), extended linearly: the interpolation the cost model promises, written again.
double lerp(const std::vector<double>& xs, const std::vector<double>& ys, double x) {
  size_t i = 1;
  while (i + 1 < xs.size() && x > xs[i]) ++i;
  return ys[i - 1] + (ys[i] - ys[i - 1]) * (x - xs[i - 1]) / (xs[i] - xs[i - 1]);
}

}  // namespace

TEST_CASE("GPU calibration: the file round-trips", "[gpu-calibration]") {
  TempDir dir;
  const GpuCalibration c = sample();
  const GpuCalibration r = read_gpu_calibration(dir.write("test-gpu-9000.toml", to_toml(c)));
  CHECK(r.device == c.device);
  CHECK(r.slug == c.slug);
  CHECK(r.source == c.source);
  CHECK(r.sm_count == c.sm_count);
  CHECK(r.memory_bytes == c.memory_bytes);
  CHECK(r.references.copy_Bps == c.references.copy_Bps);
  CHECK(r.references.launch_s == c.references.launch_s);
  CHECK(r.references.peak_fp16_flops == c.references.peak_fp16_flops);
  REQUIRE(r.gemv.size() == 2);
  CHECK(r.gemv[0].bits == 4);
  CHECK(r.gemv[0].rows == c.gemv[0].rows);
  CHECK(r.gemv[0].weight_bytes == c.gemv[0].weight_bytes);
  CHECK(r.gemv[0].seconds == c.gemv[0].seconds);
  REQUIRE(r.gemm.size() == 1);
  CHECK(r.gemm[0].tokens == c.gemm[0].tokens);
  CHECK(r.gemm[0].seconds == c.gemm[0].seconds);
  REQUIRE(r.codec.size() == 1);
  CHECK(r.codec[0].decode_s == c.codec[0].decode_s);
  CHECK(r.codec[0].bits_per_element == c.codec[0].bits_per_element);
  CHECK(to_toml(r) == to_toml(c));
  // The shipped calibration reads too, and names the device it was measured on.
  const GpuCalibration h200 = read_gpu_calibration(repo("hwprofiles/measured/nvidia-h200.toml"));
  CHECK(h200.device == "NVIDIA H200");
  CHECK(h200.source.rfind("measured:", 0) == 0);
}

TEST_CASE("GPU calibration: bad or mismatched files are refused with one line naming file and key", "[gpu-calibration]") {
  TempDir dir;
  const std::string good = to_toml(sample());
  struct Case {
    std::string what, text, key;
  };
  const std::vector<Case> cases = {
      {"missing key", replaced(good, "copy_Bps = 3000000000000", ""), "references.copy_Bps"},
      {"unknown key", replaced(good, "sm_count = 100", "sm_count = 100\nsm_cont = 3"), "sm_cont"},
      {"another backend", replaced(good, "backend = \"cuda\"", "backend = \"cpu\""), "backend"},
      {"newer version", replaced(good, "version = 1", "version = 2"), "version"},
      {"not increasing", replaced(good, "weight_bytes = [8912896, 35651584]", "weight_bytes = [35651584, 8912896]"),
       "gemv[0].weight_bytes"},
      {"lengths differ", replaced(good, "seconds = [1e-05, 2.5e-05]", "seconds = [1e-05]"), "gemv[0].seconds"},
      {"one row short", replaced(good, "rows = [4096, 8192]", "rows = [4096]"), "gemv[0].rows"},
      {"not finite", replaced(good, "launch_s = 4e-06", "launch_s = nan"), "references.launch_s"},
      {"negative", replaced(good, "encode_s = [2e-05, 3e-05]", "encode_s = [2e-05, -3e-05]"), "codec[0].encode_s"},
      {"unknown codec", replaced(good, "codec = \"ts-tabq\"", "codec = \"zip\""), "codec[0].codec"},
      {"bits twice", replaced(good, "bits = 8\n", "bits = 4\n"), "gemv[1].bits"},
      {"not TOML", replaced(good, "[references]", "[references"), ""},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    const std::string path = dir.write("test-gpu-9000.toml", c.text);
    const std::string msg = refusal(path);
    REQUIRE_FALSE(msg.empty());
    CHECK(msg.find(path) != std::string::npos);
    CHECK(msg.find(c.key) != std::string::npos);
    CHECK(msg.find('\n') == std::string::npos);
  }
  // A calibration under another device's name (copied to the wrong file) is refused by its slug.
  const std::string wrong = dir.write("nvidia-h200.toml", good);
  CHECK(refusal(wrong).find("slug") != std::string::npos);
  CHECK(refusal(dir.path.string() + "/absent.toml").find("cannot open") != std::string::npos);
}

TEST_CASE("GPU costs: matmuls interpolate by weight bytes, batch the faster of GEMV launches and one GEMM", "[gpu-calibration]") {
  const GpuCalibration c = sample();
  const GpuCosts g(c, "test-gpu-9000.toml");
  CHECK(g.launch() == 4e-6);
  CHECK(g.covers_matmul(4));
  CHECK(g.covers_matmul(8));
  CHECK_FALSE(g.covers_matmul(3));
  CHECK_FALSE(g.matmul(3, 128, 4096, 4096, 1).has_value());
  // One token: the GEMV table at the matrix's bytes, between and past the measured sizes.
  CHECK(*g.matmul(4, 128, 4096, 4096, 1) == Approx(1e-5));
  CHECK(*g.matmul(4, 128, 6144, 4096, 1) == Approx(lerp({8912896, 35651584}, {1e-5, 2.5e-5}, 6144 * 2048 + 6144 * 32 * 4)));
  CHECK(*g.matmul(4, 128, 16384, 8192, 1) == Approx(lerp({8912896, 35651584}, {1e-5, 2.5e-5}, 16384.0 * 4096 + 16384 * 64 * 4)));
  // Several tokens: T GEMV launches or the GEMM scaled from its 4096 x 4096 matrix, whichever is faster.
  CHECK(*g.matmul(4, 128, 4096, 4096, 2) == Approx(2e-5));
  CHECK(*g.matmul(4, 128, 4096, 4096, 128) == Approx(5e-5));
  CHECK(*g.matmul(4, 128, 8192, 4096, 128) == Approx(1e-4));
  // A width with a GEMV table only costs T launches of it.
  CHECK(*g.matmul(8, 128, 4096, 4096, 16) == Approx(16 * 1.2e-5));
  // The codec: its table by tokens, scaled by the hidden width.
  CHECK(*g.encode("ts-tabq", 4096, 1) == Approx(2e-5));
  CHECK(*g.decode("ts-tabq", 2048, 128) == Approx(2.5e-6));
  CHECK_FALSE(g.encode("uniform", 4096, 1).has_value());
}

TEST_CASE("GPU costs: the h200 profile is costed from its calibration, not the roofline", "[gpu-calibration]") {
  Scenario sc = load_scenario(repo("scenarios/paper-llama2-7b-xavier-h200.toml"));
  System sys = resolve_system(sc);
  REQUIRE(sys.server.gpu);
  CHECK(sys.server.to_json()["measured"]["device"] == "NVIDIA H200");
  const GpuCalibration& cal = sys.server.gpu->calibration();
  const CostModel cm(sys);
  const ModelSpec& m = sys.model;
  const int bits = static_cast<int>(sys.plan.cloud_bits);
  const int64_t layers = m.n_layers - sys.plan.split_layer;
  const GpuCalibration::Gemv* gemv = nullptr;
  for (const auto& g : cal.gemv)
    if (g.bits == bits) gemv = &g;
  REQUIRE(gemv);
  const auto gemv_s = [&](int64_t rows, int64_t cols) {
    return lerp(gemv->weight_bytes, gemv->seconds, matrix_bytes(rows, cols, bits, 128));
  };
  // One decode step at batch 1: per layer the fused qkv, o, gate/up and down GEMVs, attention on the roofline with
  // the measured launch, four small kernels at the measured launch; then the head GEMV and the final norm.
  const double ctx = 200, launch = cal.references.launch_s;
  const double qkv = gemv_s(m.dim + 2 * m.kv_dim(), m.dim), o = gemv_s(m.dim, m.dim);
  const double gate_up = gemv_s(2 * m.hidden_dim, m.dim), down = gemv_s(m.dim, m.hidden_dim);
  const double att = CostModel::op_time(sys.server, 4.0 * static_cast<double>(m.dim) * ctx,
                                        m.kv_bytes_per_token_layer(static_cast<int>(sys.plan.kv_bits)) * ctx, 1);
  const double expected = static_cast<double>(layers) * (qkv + o + gate_up + down + att + 4 * launch) +
                          gemv_s(m.vocab_size, m.dim) + launch;
  CHECK(cm.server_step(1, ctx) == Approx(expected).epsilon(1e-9));
  // The codec on the server: its decode table at one token.
  if (sys.plan.wire == WireFormat::ts_tabq) CHECK(cm.server_decode_codec(1) == Approx(cal.codec[0].decode_s[0]));
  // The same profile without its calibration is costed differently: the tables are really used.
  System roofline = sys;
  roofline.server.gpu.reset();
  CHECK(CostModel(roofline).server_step(1, ctx) != Approx(expected).epsilon(0.01));
}

TEST_CASE("GPU costs: a profile naming a calibration that does not exist is refused", "[gpu-calibration]") {
  TempDir dir;
  std::string text;
  {
    std::ifstream in(repo("hwprofiles/h200.toml"));
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string path = dir.write("hwprofiles/h200x.toml", replaced(replaced(text, "name = \"h200\"", "name = \"h200x\""),
                                                                       "measured = \"nvidia-h200\"", "measured = \"nvidia-h201\""));
  setenv("SPLITSIM_DATA_DIR", dir.path.c_str(), 1);
  std::string msg;
  try {
    load_hw_profile_file(path);
  } catch (const InputError& e) {
    msg = e.what();
  }
  unsetenv("SPLITSIM_DATA_DIR");
  CHECK(msg.find(path) != std::string::npos);
  CHECK(msg.find("measured") != std::string::npos);
  CHECK(msg.find("nvidia-h201") != std::string::npos);
}
