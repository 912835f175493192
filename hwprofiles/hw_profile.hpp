// Hardware profiles (hwprofiles/<name>.toml) and link profiles (hwprofiles/links/<name>.toml).
//
// Every number carries its provenance string: "datasheet: <source>", "paper: <source>", "measured: <host>,
// <date>, <command>", or "assumption: <reasoning>" for values no datasheet gives (efficiencies before
// calibration, typical link throughputs). Values are SI doubles.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/formats/link_trace.hpp"
#include "core/toml_reader.hpp"

namespace splitsim {

struct MeasuredTables;  // hwprofiles/measured_tables.hpp
class GpuCosts;         // hwprofiles/gpu_costs.hpp

// A power mode of a device (nvpmodel on Jetsons): its clocks as ratios to the clocks the profile's peaks and
// bandwidth describe, and the board's power under inference load at them.
struct PowerMode {
  std::string name;       // "10W"
  Sourced active;         // W: module power under memory-bound decode in this mode
  Sourced compute_scale;  // ratio to the profile's peaks (GPU or CPU clock ratio)
  Sourced memory_scale;   // ratio to the profile's memory bandwidth (memory clock ratio)
};

// What the device draws (W, the whole module or board): awake and idle, and under inference load at the
// profile's own clocks. Energy = idle x time + (active - idle) x compute time (+ the radio's, see LinkProfile).
struct PowerProfile {
  Sourced idle;
  Sourced active;
  std::vector<PowerMode> modes;
  const PowerMode* mode(const std::string& name) const;  // nullptr when unknown
  nlohmann::json to_json() const;
};

struct HwProfile {
  std::string name;
  std::string kind;  // edge | cloud
  std::string description;
  Sourced memory_capacity;    // B
  Sourced memory_bandwidth;   // B/s
  Sourced runtime_overhead;   // B held by OS, runtime and framework before any weight is loaded
  Sourced launch_overhead;    // s per kernel launch (or per operator call on a CPU)
  std::map<std::string, Sourced> peak;  // op/s per precision: fp32, fp16, int8, int4
  Sourced efficiency_compute;  // achieved fraction of peak for GEMM-like work
  Sourced efficiency_memory;   // achieved fraction of memory bandwidth for streaming work (GEMV, codec)
  // [efficiency] memory_quantized: the fraction a weight stream below 16 bits achieves (a dequantizing GEMV is
  // often bound by its unpacking, not by the bus); absent: efficiency_memory. memory_efficiency() chooses.
  std::optional<Sourced> efficiency_memory_quantized;
  std::optional<Sourced> codec_throughput;  // B/s of fp32 input for encode/decode, when measured
  // US dollars per hour of one such server rented on demand (cloud profiles; "price: <provider page>, <date>").
  // Without it the cost metrics of a pool that uses this profile are unknown (null in summary.json).
  std::optional<Sourced> usd_per_hour;
  std::optional<PowerProfile> power;  // [power]: needed for energy figures (null in summary.json without it)
  // Executor-level tables measured on a host, when the profile names them: measured = "auto" (this host's
  // hwprofiles/measured/<host>.toml) or a file name under hwprofiles/measured/. The cost model costs from them
  // when they cover the model and bit-width; without the file, `measured` stays empty, `measured_note` says why
  // and the roofline above applies.
  // A GPU profile names its kernel calibration instead (measured = "nvidia-h200": the file written by `splitsim
  // calibrate --backend cuda` on that GPU): the cost model then takes GEMV, GEMM, codec and launch times from it
  // wherever it covers the case.
  std::string measured_ref;
  std::shared_ptr<const MeasuredTables> measured;
  std::shared_ptr<const GpuCosts> gpu;
  std::string measured_note;

  // The memory efficiency of a weight stream of `weight_bits` (KV, activations and codec: 16).
  double memory_efficiency(double weight_bits) const {
    return weight_bits < 16 && efficiency_memory_quantized ? efficiency_memory_quantized->value : efficiency_memory.value;
  }
  // Peak for a compute precision, falling back to the next wider one the device has (fp16 -> fp32).
  double peak_for(const std::string& precision) const;
  // One line saying what this profile is costed from: measured kernels or tables (what they cover) or the roofline.
  std::string costing() const;
  nlohmann::json to_json() const;
};

// The device's radio on a link, as a per-state power model (the form of the LTE/5G models of the measurement
// literature; Wi-Fi fits it with a short tail): while a transfer is in flight the radio draws `transfer` W plus
// `up_per_mbps` / `down_per_mbps` W per Mbit/s of throughput; after the last transfer it stays in a tail state
// (`tail_power` W) for `tail_time` before going idle; leaving idle costs `promotion_time` at `promotion_power`.
// All powers are above the device's own idle power.
struct RadioProfile {
  Sourced transfer;        // W (beta)
  Sourced up_per_mbps;     // W per Mbit/s uplink (alpha_u)
  Sourced down_per_mbps;   // W per Mbit/s downlink (alpha_d)
  Sourced tail_time;       // s
  Sourced tail_power;      // W
  Sourced promotion_time;  // s
  Sourced promotion_power; // W
  nlohmann::json to_json() const;
};

struct LinkProfile {
  std::string name;
  std::string description;
  Sourced uplink;    // B/s
  Sourced downlink;  // B/s
  Sourced latency;   // s, one way
  std::optional<RadioProfile> radio;  // [radio]: the device side's radio energy on this link
  // trace = "<file>.csv" (hwprofiles/links/traces/): the rates above are peaks and the trace gives their fraction
  // over time (core/formats/link_trace.hpp); trace_source says where it came from. Null: constant rates.
  std::shared_ptr<const LinkTrace> trace;
  std::string trace_source;
  nlohmann::json to_json() const;
};

HwProfile load_hw_profile(const std::string& name);  // hwprofiles/<name>.toml
// The profile at one of its power modes: peaks and memory bandwidth scaled by the mode's clock ratios (their
// sources say so), active power the mode's. std::invalid_argument naming the modes when it has no such mode.
HwProfile in_power_mode(const HwProfile& h, const std::string& mode);
HwProfile load_hw_profile_file(const std::string& path);
LinkProfile load_link(const std::string& name);      // hwprofiles/links/<name>.toml
LinkProfile load_link_file(const std::string& path);
std::vector<std::string> hw_profile_names();
std::vector<std::string> link_names();

}  // namespace splitsim
