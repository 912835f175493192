// The GPU kernel calibration file: hwprofiles/measured/<device slug>.toml, written by `splitsim calibrate --backend
// cuda` on the GPU and read by the cost model for a hardware profile that names it (`measured = "nvidia-h200"`).
// One struct, one writer, one reader: the two sides cannot drift apart.
//
// Units are SI in the file too (keys end in _s, _Bps, _flops); one `source` per table says where its numbers came
// from ("measured: <host> (<device>), <date>, <command>"). Kernel times are means over launches queued back to back
// with the weights streamed from DRAM, so each includes the launch cost a kernel pays inside a decode step.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace splitsim {

constexpr int64_t kGpuCalibrationVersion = 1;

struct GpuCalibration {
  std::string device;  // "NVIDIA H200"
  std::string slug;    // "nvidia-h200": the file's stem
  std::string host, date, command, source;
  std::string compute_capability;  // "9.0"
  int64_t sm_count = 0, memory_bus_bits = 0, l2_bytes = 0, memory_bytes = 0;
  double sm_clock_mhz = 0, memory_clock_mhz = 0;
  std::string driver, cuda_runtime;

  struct References {
    std::string source;
    double copy_Bps = 0;       // device-to-device copy, bytes read + written per second
    double read_Bps = 0;       // a read-only kernel
    double host_to_device_Bps = 0, device_to_host_Bps = 0;  // pinned
    double launch_s = 0;       // an empty kernel queued back to back
    double launch_roundtrip_s = 0;
    double peak_fp32_flops = 0, peak_fp16_flops = 0;  // FMA microkernels
  } references;

  struct Gemv {  // decode: one token; points sorted by weight bytes
    int bits = 4, group_size = 128;
    std::string source;
    std::vector<int64_t> rows, cols;
    std::vector<double> weight_bytes, seconds;
  };
  std::vector<Gemv> gemv;

  struct Gemm {  // prefill on one rows x cols matrix; points sorted by tokens
    int bits = 4, group_size = 128;
    int64_t rows = 0, cols = 0;
    std::string source;
    std::vector<double> tokens, seconds;
  };
  std::vector<Gemm> gemm;

  struct Codec {  // hidden state T x d fp32; points sorted by tokens
    std::string codec;  // ts_tabq | uniform
    int64_t d = 0;
    std::string source;
    std::vector<double> tokens, encode_s, decode_s, bits_per_element;
  };
  std::vector<Codec> codec;
};

std::string to_toml(const GpuCalibration& c);
// InputError naming the file and the key on anything malformed, missing, unknown or inconsistent (array lengths,
// order, a file whose stem is not its slug).
GpuCalibration read_gpu_calibration(const std::string& path);
// True when the file at path is a GPU calibration (backend = "cuda"), without validating the rest.
bool is_gpu_calibration(const std::string& path);

}  // namespace splitsim
