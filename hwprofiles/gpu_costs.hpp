// The kernel costs of one GPU as measured by `splitsim calibrate --backend cuda` (hwprofiles/measured/<device>.toml,
// core/formats/gpu_calibration.hpp), in the form the cost model asks for them. A hardware profile that names the
// file (`measured = "nvidia-h200"`) is costed from it wherever it covers the case; the roofline of the profile's
// datasheet numbers and [efficiency] assumptions is used only where it does not (bit-widths or codecs it lacks).
//
//   matmul    a rows x cols matrix at `bits` for T tokens: T = 1 the decode GEMV, interpolated in weight bytes
//             between the measured shapes; T > 1 the faster of T GEMV launches and one GEMM, the GEMM's time per
//             token count scaled from its measured matrix by rows x cols (work and weight bytes both scale so).
//   codec     encode / decode of a T x d block, interpolated in T, scaled by d from the measured width.
//   launch    an empty kernel queued back to back: the price of every kernel the tables do not time.
// Measured kernel times already include their own launch.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/formats/gpu_calibration.hpp"
#include "hwprofiles/measured_tables.hpp"

namespace splitsim {

class GpuCosts {
 public:
  GpuCosts(GpuCalibration cal, std::string file);

  const GpuCalibration& calibration() const { return cal_; }
  const std::string& file() const { return file_; }
  double launch() const { return cal_.references.launch_s; }
  bool covers_matmul(int bits) const;
  std::optional<double> matmul(int bits, int group_size, int64_t rows, int64_t cols, int64_t tokens) const;
  std::optional<double> encode(const std::string& codec, int64_t d, int64_t tokens) const;
  std::optional<double> decode(const std::string& codec, int64_t d, int64_t tokens) const;
  nlohmann::json to_json() const;  // the file, the device, and what it covers

 private:
  struct Gemm {
    double weights = 0;  // rows x cols of the measured matrix
    Curve seconds;       // tokens -> s
  };
  struct Codec {
    int64_t d = 0;
    Curve encode, decode;  // tokens -> s
  };
  GpuCalibration cal_;
  std::string file_;
  std::map<int, Curve> gemv_;  // bits -> s by weight bytes
  std::map<int, Gemm> gemm_;
  std::map<std::string, Codec> codec_;
};

// InputError naming the file and key on a malformed or inconsistent calibration.
std::shared_ptr<const GpuCosts> load_gpu_costs(const std::string& path);

}  // namespace splitsim
