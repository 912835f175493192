// The GPU calibration file's writer and reader (gpu_calibration.hpp).
#include "core/formats/gpu_calibration.hpp"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <optional>
#include <type_traits>

#include "core/error.hpp"
#include "core/formats/strict_table.hpp"

namespace splitsim {

namespace {

std::string quoted(const std::string& s) {
  std::string o = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') o += '\\';
    o += ch;
  }
  return o + "\"";
}

template <class T>
std::string list(const std::vector<T>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ", ";
    if constexpr (std::is_integral_v<T>)
      s += std::to_string(v[i]);
    else
      s += fmt::format("{}", v[i]);  // the shortest text that reads back to the same double
  }
  return s + "]";
}

std::vector<int64_t> integers(StrictTable& t, const std::string& key) {
  std::vector<int64_t> out;
  for (double v : t.numbers(key)) {
    if (v != std::floor(v) || v < 1) t.fail(key, "an array of positive integers");
    out.push_back(static_cast<int64_t>(v));
  }
  return out;
}

void same_length(StrictTable& t, const std::string& key, size_t n, size_t want, const std::string& of) {
  if (n != want) t.fail(key, fmt::format("{} values, one per {}", want, of));
}

}  // namespace

std::string to_toml(const GpuCalibration& c) {
  std::string t;
  t += fmt::format("# GPU kernel calibration of {}, written by `{}`.\n", c.device, c.command);
  t += "# Kernel times are means over launches queued back to back (CUDA events), weights streamed from DRAM; SI units.\n";
  t += "# Every number's provenance is the `source` of its table.\n";
  t += fmt::format("backend = \"cuda\"\nversion = {}\n", kGpuCalibrationVersion);
  t += fmt::format("device = {}\nslug = {}\nhost = {}\ndate = {}\ncommand = {}\nsource = {}\n", quoted(c.device),
                   quoted(c.slug), quoted(c.host), quoted(c.date), quoted(c.command), quoted(c.source));
  t += fmt::format("compute_capability = {}\nsm_count = {}\nsm_clock_mhz = {}\nmemory_clock_mhz = {}\n",
                   quoted(c.compute_capability), c.sm_count, c.sm_clock_mhz, c.memory_clock_mhz);
  t += fmt::format("memory_bus_bits = {}\nl2_bytes = {}\nmemory_bytes = {}\ndriver = {}\ncuda_runtime = {}\n",
                   c.memory_bus_bits, c.l2_bytes, c.memory_bytes, quoted(c.driver), quoted(c.cuda_runtime));
  const GpuCalibration::References& r = c.references;
  t += "\n[references]\n";
  t += fmt::format("source = {}\n", quoted(r.source));
  t += fmt::format("copy_Bps = {}  # device-to-device copy, bytes read + written\n", r.copy_Bps);
  t += fmt::format("read_Bps = {}  # a read-only kernel, 16-byte loads\n", r.read_Bps);
  t += fmt::format("host_to_device_Bps = {}  # pinned\ndevice_to_host_Bps = {}\n", r.host_to_device_Bps,
                   r.device_to_host_Bps);
  t += fmt::format("launch_s = {}  # empty kernels queued back to back\n", r.launch_s);
  t += fmt::format("launch_roundtrip_s = {}  # launch + stream synchronize\n", r.launch_roundtrip_s);
  t += fmt::format("peak_fp32_flops = {}\npeak_fp16_flops = {}\n", r.peak_fp32_flops, r.peak_fp16_flops);
  for (const auto& g : c.gemv) {
    t += fmt::format("\n[[gemv]]  # decode GEMV, one token: seconds by weight bytes\nbits = {}\ngroup_size = {}\n", g.bits,
                     g.group_size);
    t += fmt::format("source = {}\nrows = {}\ncols = {}\nweight_bytes = {}\nseconds = {}\n", quoted(g.source), list(g.rows),
                     list(g.cols), list(g.weight_bytes), list(g.seconds));
  }
  for (const auto& g : c.gemm) {
    t += fmt::format("\n[[gemm]]  # prefill GEMM on one matrix: seconds by tokens\nbits = {}\ngroup_size = {}\n", g.bits,
                     g.group_size);
    t += fmt::format("rows = {}\ncols = {}\nsource = {}\ntokens = {}\nseconds = {}\n", g.rows, g.cols, quoted(g.source),
                     list(g.tokens), list(g.seconds));
  }
  for (const auto& k : c.codec) {
    t += fmt::format("\n[[codec]]  # hidden state T x d fp32: seconds by tokens\ncodec = {}\nd = {}\nsource = {}\n",
                     quoted(k.codec), k.d, quoted(k.source));
    t += fmt::format("tokens = {}\nencode_s = {}\ndecode_s = {}\nbits_per_element = {}\n", list(k.tokens),
                     list(k.encode_s), list(k.decode_s), list(k.bits_per_element));
  }
  return t;
}

bool is_gpu_calibration(const std::string& path) {
  const toml::table root = parse_program_table(path, "calibration");
  return root["backend"].value<std::string>() == std::optional<std::string>("cuda");
}

// Long on purpose: one reader per table of the format, in the file's order, each checking its keys.
GpuCalibration read_gpu_calibration(const std::string& path) {
  const toml::table root = parse_program_table(path, "GPU calibration");
  StrictTable r(path, root, "");
  GpuCalibration c;
  if (r.str("backend") != "cuda") r.fail("backend", "\"cuda\" (a GPU calibration from `splitsim calibrate --backend cuda`)");
  if (r.integer("version", 1) != kGpuCalibrationVersion)
    r.fail("version", fmt::format("{} (rerun `splitsim calibrate --backend cuda` with this splitsim)", kGpuCalibrationVersion));
  c.device = r.str("device");
  c.slug = r.str("slug");
  if (std::filesystem::path(path).stem().string() != c.slug)
    r.fail("slug", fmt::format("the file's name \"{}\"", std::filesystem::path(path).stem().string()));
  c.host = r.str("host");
  c.date = r.str("date");
  c.command = r.str("command");
  c.source = r.str("source");
  c.compute_capability = r.str("compute_capability");
  c.sm_count = r.integer("sm_count", 1);
  c.sm_clock_mhz = r.number("sm_clock_mhz");
  c.memory_clock_mhz = r.number("memory_clock_mhz");
  c.memory_bus_bits = r.integer("memory_bus_bits", 1);
  c.l2_bytes = r.integer("l2_bytes", 0);
  c.memory_bytes = r.integer("memory_bytes", 1);
  c.driver = r.str("driver");
  c.cuda_runtime = r.str("cuda_runtime");
  {
    StrictTable t = r.table("references");
    auto& x = c.references;
    x.source = t.str("source");
    x.copy_Bps = t.number("copy_Bps", 1);
    x.read_Bps = t.number("read_Bps", 1);
    x.host_to_device_Bps = t.number("host_to_device_Bps", 1);
    x.device_to_host_Bps = t.number("device_to_host_Bps", 1);
    x.launch_s = t.number("launch_s");
    x.launch_roundtrip_s = t.number("launch_roundtrip_s");
    x.peak_fp32_flops = t.number("peak_fp32_flops", 1);
    x.peak_fp16_flops = t.number("peak_fp16_flops", 1);
    t.expect_all_used();
  }
  for (StrictTable& t : r.tables("gemv")) {
    GpuCalibration::Gemv g;
    g.bits = static_cast<int>(t.integer("bits", 2, 16));
    g.group_size = static_cast<int>(t.integer("group_size", 1));
    g.source = t.str("source");
    g.rows = integers(t, "rows");
    g.cols = integers(t, "cols");
    auto [bytes, seconds] = t.series("weight_bytes", "seconds");
    g.weight_bytes = std::move(bytes);
    g.seconds = std::move(seconds);
    same_length(t, "rows", g.rows.size(), g.weight_bytes.size(), "weight_bytes");
    same_length(t, "cols", g.cols.size(), g.weight_bytes.size(), "weight_bytes");
    for (const auto& o : c.gemv)
      if (o.bits == g.bits) t.fail("bits", fmt::format("one [[gemv]] table per bit-width ({} appears twice)", g.bits));
    t.expect_all_used();
    c.gemv.push_back(std::move(g));
  }
  for (StrictTable& t : r.tables("gemm")) {
    GpuCalibration::Gemm g;
    g.bits = static_cast<int>(t.integer("bits", 2, 16));
    g.group_size = static_cast<int>(t.integer("group_size", 1));
    g.rows = t.integer("rows", 1);
    g.cols = t.integer("cols", 1);
    g.source = t.str("source");
    auto [tokens, seconds] = t.series("tokens", "seconds");
    g.tokens = std::move(tokens);
    g.seconds = std::move(seconds);
    for (const auto& o : c.gemm)
      if (o.bits == g.bits) t.fail("bits", fmt::format("one [[gemm]] table per bit-width ({} appears twice)", g.bits));
    t.expect_all_used();
    c.gemm.push_back(std::move(g));
  }
  for (StrictTable& t : r.tables("codec")) {
    GpuCalibration::Codec k;
    k.codec = t.str("codec");
    if (k.codec != "ts-tabq" && k.codec != "uniform") t.fail("codec", "ts-tabq or uniform");
    k.d = t.integer("d", 1);
    k.source = t.str("source");
    auto [tokens, enc] = t.series("tokens", "encode_s");
    k.tokens = std::move(tokens);
    k.encode_s = std::move(enc);
    k.decode_s = t.numbers("decode_s");
    k.bits_per_element = t.numbers("bits_per_element");
    same_length(t, "decode_s", k.decode_s.size(), k.tokens.size(), "tokens");
    same_length(t, "bits_per_element", k.bits_per_element.size(), k.tokens.size(), "tokens");
    t.expect_all_used();
    c.codec.push_back(std::move(k));
  }
  r.expect_all_used();
  return c;
}

}  // namespace splitsim
