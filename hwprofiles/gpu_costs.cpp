// GPU kernel costs from a measured calibration (gpu_costs.hpp).
#include "hwprofiles/gpu_costs.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "models/model_spec.hpp"

namespace splitsim {

GpuCosts::GpuCosts(GpuCalibration cal, std::string file) : cal_(std::move(cal)), file_(std::move(file)) {
  for (const auto& g : cal_.gemv) gemv_[g.bits] = Curve{g.weight_bytes, g.seconds};
  for (const auto& g : cal_.gemm)
    gemm_[g.bits] = Gemm{static_cast<double>(g.rows) * static_cast<double>(g.cols), Curve{g.tokens, g.seconds}};
  for (const auto& c : cal_.codec) codec_[c.codec] = Codec{c.d, Curve{c.tokens, c.encode_s}, Curve{c.tokens, c.decode_s}};
}

bool GpuCosts::covers_matmul(int bits) const { return gemv_.count(bits) || gemm_.count(bits); }

std::optional<double> GpuCosts::matmul(int bits, int group_size, int64_t rows, int64_t cols, int64_t tokens) const {
  if (tokens <= 0) return 0.0;
  std::optional<double> gemv, gemm;
  if (auto it = gemv_.find(bits); it != gemv_.end())
    gemv = static_cast<double>(tokens) * it->second.at(matrix_bytes(rows, cols, bits, group_size));
  if (auto it = gemm_.find(bits); it != gemm_.end() && tokens > 1)
    gemm = static_cast<double>(rows) * static_cast<double>(cols) / it->second.weights *
           it->second.seconds.at(static_cast<double>(tokens));
  if (gemv && gemm) return std::min(*gemv, *gemm);
  return gemv ? gemv : gemm;
}

std::optional<double> GpuCosts::encode(const std::string& codec, int64_t d, int64_t tokens) const {
  auto it = codec_.find(codec);
  if (it == codec_.end()) return std::nullopt;
  return static_cast<double>(d) / static_cast<double>(it->second.d) * it->second.encode.at(static_cast<double>(tokens));
}

std::optional<double> GpuCosts::decode(const std::string& codec, int64_t d, int64_t tokens) const {
  auto it = codec_.find(codec);
  if (it == codec_.end()) return std::nullopt;
  return static_cast<double>(d) / static_cast<double>(it->second.d) * it->second.decode.at(static_cast<double>(tokens));
}

nlohmann::json GpuCosts::to_json() const {
  nlohmann::json gv = nlohmann::json::array(), gm = nlohmann::json::array(), cd = nlohmann::json::array();
  for (const auto& [b, c] : gemv_) gv.push_back(b);
  for (const auto& [b, g] : gemm_) gm.push_back(b);
  for (const auto& [n, c] : codec_) cd.push_back(n);
  return {{"file", file_},          {"device", cal_.device}, {"date", cal_.date},
          {"source", cal_.source},  {"gemv_bits", gv},       {"gemm_bits", gm},
          {"codecs", cd},           {"launch_s", launch()}};
}

std::shared_ptr<const GpuCosts> load_gpu_costs(const std::string& path) {
  return std::make_shared<const GpuCosts>(read_gpu_calibration(path), path);
}

}  // namespace splitsim
