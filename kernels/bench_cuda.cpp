// GPU benchmarks and calibration (bench_cuda.hpp). The numbers are kernel times from CUDA events around many
// launches back to back (a decode step queues its kernels the same way), weights cycled over resident copies that
// together exceed the L2 three times, so every weight byte comes from DRAM as it would in a model far larger than
// the cache. Rates are compared with references measured on the same device in the same run.
#include "kernels/bench_cuda.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <random>

#include "core/formats/gpu_calibration.hpp"
#include "core/output.hpp"
#include "core/provenance.hpp"
#include "core/scenario.hpp"
#include "kernels/activations.hpp"
#include "kernels/codec.hpp"
#include "kernels/codec_internal.hpp"
#include "kernels/cuda_launch.hpp"
#include "kernels/opsc.hpp"
#include "kernels/opsc_internal.hpp"
#include "kernels/quant_math.hpp"

namespace splitsim {

namespace {

// A packed matrix with random codes and plausible group headers: the kernels' time does not depend on the values
// (no data-dependent control flow), and random codes avoid the zeros that can run faster than real data.
QuantizedMatrix random_quantized(int64_t rows, int64_t cols, int bits, int group, uint64_t seed) {
  QuantizedMatrix q;
  q.rows = rows;
  q.cols = cols;
  q.bits = bits;
  q.group_size = group;
  std::mt19937_64 rng(seed);
  q.codes.resize(static_cast<size_t>(rows * q.row_code_bytes()));
  for (size_t i = 0; i < q.codes.size(); i += 8) {
    const uint64_t v = rng();
    for (size_t k = 0; k < 8 && i + k < q.codes.size(); ++k) q.codes[i + k] = static_cast<uint8_t>(v >> (8 * k));
  }
  const size_t n = static_cast<size_t>(rows * q.groups_per_row());
  q.scales.resize(n);
  q.zeros.resize(n);
  std::uniform_real_distribution<float> scale(1e-3f, 1e-2f);
  std::uniform_int_distribution<int> zero(0, (1 << bits) - 1);
  for (size_t i = 0; i < n; ++i) {
    q.scales[i] = qmath::float_to_half(scale(rng));
    q.zeros[i] = qmath::float_to_half(static_cast<float>(zero(rng)));
  }
  return q;
}

// Resident copies so that the copies together exceed the L2 three times (at most 32, and a quarter of the memory).
int copies_for(double bytes, const GpuReferences& ref) {
  const double want = std::ceil(3.0 * static_cast<double>(ref.device.l2_bytes) / std::max(1.0, bytes));
  const double cap = std::floor(0.25 * static_cast<double>(ref.device.global_bytes) / std::max(1.0, bytes));
  return static_cast<int>(std::clamp(std::min(want, cap), 1.0, 32.0));
}

// Launches for about 30 ms of kernel time, estimated from a read at the device's read bandwidth.
int calls_for(double bytes, const GpuReferences& ref, int lo, int hi) {
  const double est = std::max(3e-6, bytes / std::max(1e9, 0.5 * ref.read_bandwidth));
  return static_cast<int>(std::clamp(0.03 / est, static_cast<double>(lo), static_cast<double>(hi)));
}

std::string us(double s) { return fmt::format("{:.1f}", s * 1e6); }

}  // namespace

std::string device_slug(const std::string& name) {
  std::string s;
  for (char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)))
      s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    else if (!s.empty() && s.back() != '-')
      s += '-';
  }
  while (!s.empty() && s.back() == '-') s.pop_back();
  return s.empty() ? "cuda-device" : s;
}

GpuReferences measure_gpu_references(bool quick) {
  GpuReferences r;
  r.device = cuda_bench::device_info();
  r.copy_bytes = std::min<int64_t>(quick ? (256LL << 20) : (1LL << 30), r.device.global_bytes / 8);
  r.copy_bandwidth = cuda_bench::copy_bandwidth(r.copy_bytes, quick ? 5 : 10);
  r.read_bandwidth = cuda_bench::read_bandwidth(r.copy_bytes, quick ? 5 : 10);
  const int64_t pinned = quick ? (64LL << 20) : (256LL << 20);
  r.h2d_bandwidth = cuda_bench::host_device_bandwidth(pinned, 5, true);
  r.d2h_bandwidth = cuda_bench::host_device_bandwidth(pinned, 5, false);
  r.launch_queued = cuda_bench::launch_queued_seconds(1000);
  r.launch_roundtrip = cuda_bench::launch_roundtrip_seconds(200);
  r.fma_fp32 = cuda_bench::fma_peak_flops(false);
  r.fma_fp16 = cuda_bench::fma_peak_flops(true);
  r.cublas = cuda_bench::cublas_status();
  return r;
}

GpuGemvPoint gpu_gemv(int bits, int64_t rows, int64_t cols, const GpuReferences& ref, bool variants, bool with_cublas) {
  const QuantizedMatrix q = random_quantized(rows, cols, bits, 128, static_cast<uint64_t>(rows * 31 + cols * 7 + bits));
  GpuGemvPoint p;
  p.bits = bits;
  p.rows = rows;
  p.cols = cols;
  p.weight_bytes = static_cast<double>(quantized_matrix_bytes(rows, cols, bits, 128));
  std::vector<int> which = {0};
  if (variants)
    for (int v = 1; v <= cuda_launch::kGemvShapes; ++v) which.push_back(v);
  const std::vector<double> t = cuda_launch::time_gemv(opsc_detail::packed_view(q), copies_for(p.weight_bytes, ref),
                                                       calls_for(p.weight_bytes, ref, 20, 2000), which);
  p.seconds = t[0];
  p.variant_seconds.assign(t.begin() + 1, t.end());
  if (with_cublas && ref.cublas.empty()) {
    const double fp16_bytes = 2.0 * static_cast<double>(rows * cols);
    p.cublas_seconds = cuda_bench::cublas_fp16_seconds(rows, cols, 1, copies_for(fp16_bytes, ref),
                                                       calls_for(fp16_bytes, ref, 20, 2000));
  }
  return p;
}

GpuGemmPoint gpu_gemm(int bits, int64_t rows, int64_t cols, int64_t T, const GpuReferences& ref, bool exact,
                      bool with_cublas) {
  const QuantizedMatrix q = random_quantized(rows, cols, bits, 128, static_cast<uint64_t>(rows + cols + bits + T));
  GpuGemmPoint p;
  p.bits = bits;
  p.rows = rows;
  p.cols = cols;
  p.T = T;
  const double wb = static_cast<double>(quantized_matrix_bytes(rows, cols, bits, 128));
  // Calls for ~30 ms at an assumed 50 TFLOP/s or the weight stream, whichever is longer.
  const double est = std::max(p.flops() / 50e12, wb / std::max(1e9, 0.5 * ref.read_bandwidth));
  const int calls = static_cast<int>(std::clamp(0.03 / std::max(est, 5e-6), 5.0, 500.0));
  p.seconds = cuda_launch::time_gemm(opsc_detail::packed_view(q), copies_for(wb, ref), T,
                                     cuda_launch::GemmKind::tensor_cores, calls);
  if (exact)
    p.exact_seconds = cuda_launch::time_gemm(opsc_detail::packed_view(q), copies_for(wb, ref), T,
                                             cuda_launch::GemmKind::exact, std::max(3, calls / 20));
  if (with_cublas && ref.cublas.empty())
    p.cublas_seconds =
        cuda_bench::cublas_fp16_seconds(rows, cols, T, copies_for(2.0 * static_cast<double>(rows * cols), ref), calls);
  return p;
}

GpuCodecPoint gpu_codec(const std::string& codec, int64_t T, int64_t d) {
  CodecParams p;  // ts_tabq: sigma mode k = 6, eps = 1e-3, bits {2,3,4,6,8}; uniform: 8 bits
  p.codec = parse_wire_codec(codec);
  ActivationSpec s;
  s.T = T;
  s.d = d;
  const std::vector<float> x = llm_like_activations(s);
  const std::vector<uint8_t> wire = encode(x.data(), T, d, p);
  const int calls = T <= 16 ? 500 : (T <= 256 ? 100 : 20);
  GpuCodecPoint r;
  r.codec = codec;
  r.T = T;
  r.d = d;
  r.bits_per_element = 8.0 * static_cast<double>(wire.size()) / static_cast<double>(T * d);
  r.encode_seconds = codec_detail::time_encode_cuda(x.data(), T, d, codec_detail::resolve(x.data(), T, d, p), calls);
  r.decode_seconds = codec_detail::time_decode_cuda(wire, codec_detail::parse_layout(wire), calls);
  return r;
}

namespace {

struct Shape {
  int64_t rows, cols;
};
std::vector<Shape> gemv_shapes(bool quick) {
  if (quick) return {{4096, 4096}, {11008, 4096}};
  return {{4096, 4096}, {11008, 4096}, {4096, 11008}, {8192, 8192}, {28672, 8192}};
}
std::vector<int64_t> gemm_tokens(bool quick) {
  if (quick) return {16, 128};
  return {1, 16, 64, 128, 512, 2048};
}
std::vector<int64_t> codec_tokens(bool quick) {
  if (quick) return {1, 16, 128};
  return {1, 2, 4, 8, 16, 64, 128, 512, 2048};
}

const char* pass(bool ok) { return ok ? "PASS" : "FAIL"; }

}  // namespace

// Long on purpose: one printed report, section after section in the order a reader compares them (references,
// GEMV, GEMM, codec, targets); split up, the sections would only pass their tables to each other.
void run_gpu_bench(const BenchOptions& opt, bool variants) {
  const GpuReferences ref = measure_gpu_references(opt.quick);
  const cuda_bench::DeviceInfo& dv = ref.device;
  fmt::print(
      "splitsim bench kernels — backend cuda: {} (sm_{}{}, {} SMs, {:.0f} MHz, {:.1f} GiB, L2 {} MiB), driver {}.{}, "
      "runtime {}.{}{}\n\n",
      dv.name, dv.cc_major, dv.cc_minor, dv.sm_count, dv.sm_clock_mhz, dv.global_bytes / 1073741824.0,
      dv.l2_bytes >> 20, dv.driver_version / 1000, dv.driver_version % 1000 / 10, dv.runtime_version / 1000,
      dv.runtime_version % 1000 / 10, opt.quick ? ", quick" : "");
  fmt::print("device references (this run)\n");
  fmt::print(
      "  copy, device to device, {} MiB  {:8.0f} GB/s  (bytes read + written)  <- the reference for the targets\n",
      ref.copy_bytes >> 20, ref.copy_bandwidth / 1e9);
  fmt::print("  read-only kernel                {:8.0f} GB/s\n", ref.read_bandwidth / 1e9);
  fmt::print("  host -> device / back, pinned   {:8.1f} / {:.1f} GB/s\n", ref.h2d_bandwidth / 1e9,
             ref.d2h_bandwidth / 1e9);
  fmt::print("  kernel launch, queued           {:8.2f} us per kernel\n", ref.launch_queued * 1e6);
  fmt::print("  kernel launch + synchronize     {:8.2f} us\n", ref.launch_roundtrip * 1e6);
  fmt::print("  FMA peak, fp32 / fp16x2         {:8.1f} / {:.1f} TFLOP/s\n", ref.fma_fp32 / 1e12, ref.fma_fp16 / 1e12);
  fmt::print("  cuBLAS                          {}\n\n",
             ref.cublas.empty() ? "loaded (fp16 cublasGemmEx, fp32 compute)" : "not available: " + ref.cublas);

  fmt::print("GEMV (decode, one token), group 128; weights from DRAM (copies cycled)\n");
  fmt::print("  rows x cols    bits  weights MB     us     GB/s  %copy   cuBLAS fp16 us   speedup\n");
  std::vector<GpuGemvPoint> gemvs;
  for (const Shape& s : gemv_shapes(opt.quick))
    for (int bits : {2, 3, 4, 8}) {
      const GpuGemvPoint g = gpu_gemv(bits, s.rows, s.cols, ref, variants, bits == 4);
      gemvs.push_back(g);
      fmt::print("  {:>5} x {:<5}  {:>4}  {:10.1f}  {:7.1f}  {:7.0f}  {:4.0f}%   {:>14}   {:>7}\n", s.rows, s.cols,
                 bits, g.weight_bytes / 1e6, g.seconds * 1e6, g.gbps(), 100 * g.gbps() * 1e9 / ref.copy_bandwidth,
                 g.cublas_seconds > 0 ? us(g.cublas_seconds) : "-",
                 g.cublas_seconds > 0 ? fmt::format("{:.2f}x", g.cublas_seconds / g.seconds) : "-");
    }
  if (variants) {
    fmt::print(
        "\n  launch shapes (tile rows x rows per warp iteration, p: next rows loaded during the current), us:\n"
        "  rows x cols    bits");
    for (int v = 1; v <= cuda_launch::kGemvShapes; ++v) {
      const cuda_launch::GemvShape sh = cuda_launch::gemv_shape(v);
      fmt::print("  {:>7}", fmt::format("{}x{}{}", sh.tile_rows, sh.unroll, sh.pipelined ? "p" : ""));
    }
    fmt::print("\n");
    for (const GpuGemvPoint& g : gemvs) {
      fmt::print("  {:>5} x {:<5}  {:>4}", g.rows, g.cols, g.bits);
      for (double t : g.variant_seconds) fmt::print("  {:7.1f}", t * 1e6);
      fmt::print("\n");
    }
  }

  fmt::print("\nGEMM (prefill) 4096 x 4096, group 128: tensor cores (fp16 operands, fp32 accumulation)\n");
  fmt::print("  tokens  bits       us   TFLOP/s   cuBLAS fp16 us  TFLOP/s   of cuBLAS   exact fp32 us\n");
  std::vector<GpuGemmPoint> gemms;
  for (int64_t T : gemm_tokens(opt.quick))
    for (int bits : {4, 8}) {
      const GpuGemmPoint g = gpu_gemm(bits, 4096, 4096, T, ref, T == 128, bits == 4);
      gemms.push_back(g);
      fmt::print("  {:>6}  {:>4}  {:7.1f}  {:8.1f}   {:>14}  {:>7}   {:>9}   {:>13}\n", T, bits, g.seconds * 1e6,
                 g.flops() / g.seconds / 1e12, g.cublas_seconds > 0 ? us(g.cublas_seconds) : "-",
                 g.cublas_seconds > 0 ? fmt::format("{:.1f}", g.flops() / g.cublas_seconds / 1e12) : "-",
                 g.cublas_seconds > 0 ? fmt::format("{:.0f}%", 100 * g.cublas_seconds / g.seconds) : "-",
                 g.exact_seconds > 0 ? us(g.exact_seconds) : "-");
    }

  if (variants) {
    fmt::print("\n  block shapes (64 tokens x rows per block / warps), 4-bit, us:\n  tokens");
    for (int v = 1; v <= cuda_launch::kGemmShapes; ++v) fmt::print("  {:>8}", cuda_launch::gemm_shape_name(v));
    fmt::print("\n");
    const QuantizedMatrix q = random_quantized(4096, 4096, 4, 128, 77);
    const int copies = copies_for(static_cast<double>(q.bytes()), ref);
    for (int64_t T : {int64_t{16}, int64_t{128}, int64_t{512}, int64_t{2048}}) {
      fmt::print("  {:>6}", T);
      for (int v = 1; v <= cuda_launch::kGemmShapes; ++v)
        fmt::print("  {:8.1f}",
                   1e6 * cuda_launch::time_gemm(opsc_detail::packed_view(q), copies, T,
                                                cuda_launch::GemmKind::tensor_cores, T >= 512 ? 20 : 100, v));
      fmt::print("\n");
    }
  }

  fmt::print(
      "\ncodec, T x 4096 fp32 block (ts_tabq: sigma k = 6, eps = 1e-3; uniform: 8 bits); GB/s of fp32 in / out\n");
  fmt::print("  codec     tokens  bits/elem   encode us    GB/s  %copy   decode us    GB/s  %copy\n");
  std::vector<GpuCodecPoint> codecs;
  for (const char* codec : {"ts-tabq", "uniform"})
    for (int64_t T : codec_tokens(opt.quick)) {
      if (std::string(codec) == "uniform" && T != 1 && T != 128 && T != 2048) continue;
      const GpuCodecPoint c = gpu_codec(codec, T, 4096);
      codecs.push_back(c);
      fmt::print("  {:<8}  {:>6}  {:9.3f}  {:10.1f}  {:6.0f}  {:4.0f}%  {:10.1f}  {:6.0f}  {:4.0f}%\n", codec, T,
                 c.bits_per_element, c.encode_seconds * 1e6, c.fp32_bytes() / c.encode_seconds / 1e9,
                 100 * c.fp32_bytes() / c.encode_seconds / ref.copy_bandwidth, c.decode_seconds * 1e6,
                 c.fp32_bytes() / c.decode_seconds / 1e9, 100 * c.fp32_bytes() / c.decode_seconds / ref.copy_bandwidth);
    }

  // Targets (issue: CUDA kernels at the memory roofline), against this run's references.
  fmt::print("\ntargets (this device, this run; copy bandwidth {:.0f} GB/s)\n", ref.copy_bandwidth / 1e9);
  const auto frac = [&](const GpuGemvPoint& g) { return g.gbps() * 1e9 / ref.copy_bandwidth; };
  const auto large = [](const GpuGemvPoint& g) { return !(g.rows == 4096 && g.cols == 4096); };
  for (int bits : {4, 8, 3, 2}) {
    const double need = bits >= 4 ? 0.70 : 0.50;
    double worst = 1e9;
    for (const GpuGemvPoint& g : gemvs)
      if (g.bits == bits && large(g)) worst = std::min(worst, frac(g));
    if (worst < 1e9)
      fmt::print("  {} {}-bit GEMV, 11008x4096 and larger, >= {:.0f}% of copy bandwidth: worst {:.0f}%\n",
                 pass(worst >= need), bits, 100 * need, 100 * worst);
  }
  double worst_speedup = 1e9;
  for (const GpuGemvPoint& g : gemvs)
    if (g.bits == 4 && large(g) && g.cublas_seconds > 0)
      worst_speedup = std::min(worst_speedup, g.cublas_seconds / g.seconds);
  if (worst_speedup < 1e9)
    fmt::print("  {} 4-bit GEMV, 11008x4096 and larger, >= 2.5x faster than cuBLAS fp16: worst {:.2f}x\n",
               pass(worst_speedup >= 2.5), worst_speedup);
  for (const GpuGemvPoint& g : gemvs)
    if (g.bits == 4 && !large(g))
      fmt::print("  {} 4-bit GEMV 4096x4096 <= 12 us: {:.1f} us\n", pass(g.seconds <= 12e-6), g.seconds * 1e6);
  for (const GpuGemmPoint& g : gemms)
    if (g.bits == 4 && g.T == 128 && g.cublas_seconds > 0)
      fmt::print("  {} GEMM 4-bit 4096x4096, T = 128, >= 40% of cuBLAS fp16: {:.0f}% ({:.1f} vs {:.1f} TFLOP/s)\n",
                 pass(g.cublas_seconds / g.seconds >= 0.4), 100 * g.cublas_seconds / g.seconds,
                 g.flops() / g.seconds / 1e12, g.flops() / g.cublas_seconds / 1e12);
  for (const GpuCodecPoint& c : codecs) {
    if (c.codec != "ts-tabq") continue;
    if (c.T == 1)
      fmt::print("  {} codec T = 1, d = 4096: encode and decode <= 8 us each: {:.1f} + {:.1f} us\n",
                 pass(c.encode_seconds <= 8e-6 && c.decode_seconds <= 8e-6), c.encode_seconds * 1e6,
                 c.decode_seconds * 1e6);
    if (c.T == 2048)
      fmt::print("  {} codec encode T = 2048 >= 40% of copy bandwidth: {:.0f}%\n",
                 pass(c.fp32_bytes() / c.encode_seconds >= 0.4 * ref.copy_bandwidth),
                 100 * c.fp32_bytes() / c.encode_seconds / ref.copy_bandwidth);
  }
}

// ---- calibration file -------------------------------------------------------------------------------------

// Long on purpose: measures and writes the calibration file's tables in the file's own order
// (core/formats/gpu_calibration.hpp), so the code reads like the file it produces.
std::string run_gpu_calibrate(const BenchOptions& opt, const std::string& out_arg, const std::string& command) {
  const GpuReferences ref = measure_gpu_references(opt.quick);
  const cuda_bench::DeviceInfo& dv = ref.device;
  GpuCalibration c;
  c.device = dv.name;
  c.slug = device_slug(dv.name);
  c.host = this_host_name();
  c.date = utc_now();
  c.command = command;
  c.source = fmt::format("measured: {} ({}), {}, {}", c.host, dv.name, c.date, command);
  c.compute_capability = fmt::format("{}.{}", dv.cc_major, dv.cc_minor);
  c.sm_count = dv.sm_count;
  c.sm_clock_mhz = dv.sm_clock_mhz;
  c.memory_clock_mhz = dv.mem_clock_mhz;
  c.memory_bus_bits = dv.mem_bus_bits;
  c.l2_bytes = dv.l2_bytes;
  c.memory_bytes = dv.global_bytes;
  c.driver = fmt::format("{}.{}", dv.driver_version / 1000, dv.driver_version % 1000 / 10);
  c.cuda_runtime = fmt::format("{}.{}", dv.runtime_version / 1000, dv.runtime_version % 1000 / 10);
  const std::string out = calibration_file(out_arg, c.slug);
  fmt::print("calibrating {} on {} ...\n", dv.name, c.host);

  auto& r = c.references;
  r.source = c.source;
  r.copy_Bps = ref.copy_bandwidth;
  r.read_Bps = ref.read_bandwidth;
  r.host_to_device_Bps = ref.h2d_bandwidth;
  r.device_to_host_Bps = ref.d2h_bandwidth;
  r.launch_s = ref.launch_queued;
  r.launch_roundtrip_s = ref.launch_roundtrip;
  r.peak_fp32_flops = ref.fma_fp32;
  r.peak_fp16_flops = ref.fma_fp16;
  for (int bits : {2, 3, 4, 8}) {
    std::vector<GpuGemvPoint> pts;
    for (const Shape& s : gemv_shapes(opt.quick)) pts.push_back(gpu_gemv(bits, s.rows, s.cols, ref, false, false));
    std::sort(pts.begin(), pts.end(), [](const auto& a, const auto& b) { return a.weight_bytes < b.weight_bytes; });
    GpuCalibration::Gemv g;
    g.bits = bits;
    g.source = c.source;
    for (const GpuGemvPoint& p : pts) {
      if (!g.weight_bytes.empty() && p.weight_bytes <= g.weight_bytes.back()) continue;  // one point per size
      g.rows.push_back(p.rows);
      g.cols.push_back(p.cols);
      g.weight_bytes.push_back(p.weight_bytes);
      g.seconds.push_back(p.seconds);
    }
    fmt::print("  gemv {}-bit: {} points, {:.0f} GB/s at the largest\n", bits, g.seconds.size(), pts.back().gbps());
    c.gemv.push_back(std::move(g));
  }
  for (int bits : {2, 3, 4, 8}) {
    GpuCalibration::Gemm g;
    g.bits = bits;
    g.rows = g.cols = 4096;
    g.source = c.source;
    for (int64_t T : gemm_tokens(opt.quick)) {
      const GpuGemmPoint p = gpu_gemm(bits, 4096, 4096, T, ref, false, false);
      g.tokens.push_back(static_cast<double>(T));
      g.seconds.push_back(p.seconds);
    }
    fmt::print("  gemm {}-bit: {:.1f} TFLOP/s at T = {}\n", bits,
               2.0 * 4096 * 4096 * g.tokens.back() / g.seconds.back() / 1e12, g.tokens.back());
    c.gemm.push_back(std::move(g));
  }
  if (ref.cublas.empty()) {  // fp16 weights: what cuBLAS takes, since that is what runs them
    const std::string cublas_source = c.source + ", cuBLAS fp16 (cublasGemmEx, fp32 compute)";
    GpuCalibration::Gemv g;
    g.bits = 16;
    g.source = cublas_source;
    std::vector<Shape> shapes = gemv_shapes(opt.quick);
    std::sort(shapes.begin(), shapes.end(), [](const Shape& a, const Shape& b) { return a.rows * a.cols < b.rows * b.cols; });
    for (const Shape& s : shapes) {
      const double bytes = 2.0 * static_cast<double>(s.rows * s.cols);
      if (!g.weight_bytes.empty() && bytes <= g.weight_bytes.back()) continue;
      g.rows.push_back(s.rows);
      g.cols.push_back(s.cols);
      g.weight_bytes.push_back(bytes);
      g.seconds.push_back(cuda_bench::cublas_fp16_seconds(s.rows, s.cols, 1, copies_for(bytes, ref), calls_for(bytes, ref, 20, 2000)));
    }
    c.gemv.push_back(std::move(g));
    GpuCalibration::Gemm m;
    m.bits = 16;
    m.rows = m.cols = 4096;
    m.source = cublas_source;
    for (int64_t T : gemm_tokens(opt.quick)) {
      m.tokens.push_back(static_cast<double>(T));
      m.seconds.push_back(cuda_bench::cublas_fp16_seconds(4096, 4096, T, copies_for(2.0 * 4096 * 4096, ref), 50));
    }
    c.gemm.push_back(std::move(m));
    fmt::print("  cuBLAS fp16: gemv and gemm tables\n");
  } else {
    fmt::print("  cuBLAS not available ({}): no fp16 tables\n", ref.cublas);
  }
  for (const char* codec : {"ts-tabq", "uniform"}) {
    GpuCalibration::Codec k;
    k.codec = codec;
    k.d = 4096;
    k.source = c.source;
    for (int64_t T : codec_tokens(opt.quick)) {
      const GpuCodecPoint p = gpu_codec(codec, T, 4096);
      k.tokens.push_back(static_cast<double>(T));
      k.encode_s.push_back(p.encode_seconds);
      k.decode_s.push_back(p.decode_seconds);
      k.bits_per_element.push_back(p.bits_per_element);
    }
    fmt::print("  codec {}: encode {:.1f} us at T = 1\n", codec, k.encode_s.front() * 1e6);
    c.codec.push_back(std::move(k));
  }
  const std::filesystem::path p(out);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  write_file_atomic(out, to_toml(c));
  fmt::print("wrote {}\n", out);
  return out;
}

}  // namespace splitsim
