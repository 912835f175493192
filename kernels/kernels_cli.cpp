// Commands of kernels/: `splitsim bench kernels` prints the kernel table (sizes, GB/s, GFLOP/s, and the host's
// memory-copy bandwidth measured in the same run, with the targets checked), and `splitsim calibrate` writes
// hwprofiles/measured/<host>.toml, every number tagged with host, date and command. With --backend cuda both run
// on the GPU against the device's own references (bench_cuda.hpp) and calibrate writes
// hwprofiles/measured/<device slug>.toml.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>

#include "core/error.hpp"
#include "core/output.hpp"
#include "core/provenance.hpp"
#include "core/scenario.hpp"
#include "core/cli.hpp"
#include "kernels/bench.hpp"
#include "kernels/codec.hpp"
#if defined(SPLITSIM_KERNELS_CUDA)
#include "kernels/bench_cuda.hpp"
#endif

namespace splitsim {
namespace {

void require_backend(Backend b) {
  if (b == Backend::cuda && !cuda_device_available())
    throw std::runtime_error("backend cuda: no usable CUDA device (" + cuda_device_description() +
                             "); run this command on the GPU host, or use --backend cpu");
}

const char* pass(bool ok) { return ok ? "PASS" : "FAIL"; }

// Long on purpose: one printed report, table after table in the order a reader compares them.
void run_bench(const BenchOptions& opt, bool variants) {
  require_backend(opt.backend);
#if defined(SPLITSIM_KERNELS_CUDA)
  if (opt.backend == Backend::cuda) return run_gpu_bench(opt, variants);
#endif
  if (variants) throw_input("bench kernels", "--variants", "--backend cuda (GPU launch shapes)", backend_name(opt.backend));
  const int64_t T = 128, d = 4096, n = opt.quick ? 1024 : 4096;
  fmt::print("splitsim bench kernels — host {}, backend {}, cpu path {}, {} thread(s){}\n\n", this_host_name(),
             backend_name(opt.backend), cpu_features(), opt.threads, opt.quick ? ", quick" : "");
  const CopyBandwidth bw = measure_copy_bandwidth(T * d * 4, opt);
  fmt::print("memory copy (memcpy, bytes copied per second)\n");
  fmt::print("  {:>4} MiB buffer (DRAM)      {:8.2f} GB/s   <- the reference for the targets\n", bw.dram_bytes >> 20, bw.dram / 1e9);
  fmt::print("  {:>4} MiB buffer (in cache)  {:8.2f} GB/s\n\n", bw.cache_bytes >> 20, bw.in_cache / 1e9);

  fmt::print("codec, T x d fp32 block        bits/elem  encode GB/s  %copy  decode GB/s  %copy\n");
  CodecRate main_hot;
  struct Row {
    const char* codec;
    int64_t T;
    bool cold;
  };
  for (Row r : {Row{"ts-tabq", 128, false}, Row{"ts-tabq", 128, true}, Row{"ts-tabq", 16, false}, Row{"ts-tabq", 1, false},
                Row{"uniform", 128, false}, Row{"fp16", 128, false}}) {
    if (opt.quick && r.cold) continue;
    const CodecRate c = bench_codec(r.codec, r.T, d, r.cold, opt);
    if (r.T == 128 && !r.cold && std::string(r.codec) == "ts-tabq") main_hot = c;
    fmt::print("  {:<8} {:>4}x{:<5} {:<4}  {:9.3f}  {:11.2f}  {:4.0f}%  {:11.2f}  {:4.0f}%\n", r.codec, r.T, d,
               r.cold ? "cold" : "hot", c.bits_per_element, c.encode_rate() / 1e9, 100 * c.encode_rate() / bw.dram,
               c.decode_rate() / 1e9, 100 * c.decode_rate() / bw.dram);
  }
  fmt::print("  (ts_tabq: sigma mode k=6, eps=1e-3, bits {{2,3,4,6,8}}; uniform: 8 bits; rates are fp32 bytes in/out)\n\n");

  fmt::print("GEMV {}x{} (decode, one token)   weights    ms      GB/s   GFLOP/s  vs Eigen fp32\n", n, n);
  double eigen_s = 0;
  if (eigen_baseline_available()) {
    eigen_s = eigen_gemv_seconds(n, n, opt.min_seconds);
    fmt::print("  Eigen fp32 (AVX2+FMA)        {:>9}  {:6.3f}  {:8.2f}  {:8.2f}  1.00x\n", fmt::format("{:.1f} MiB", n * n * 4 / 1048576.0),
               eigen_s * 1e3, n * n * 4 / eigen_s / 1e9, 2.0 * n * n / eigen_s / 1e9);
  }
  double speedup4 = 0;
  for (int bits : {8, 4, 3, 2}) {
    const GemvResult g = bench_gemv(bits, n, n, opt);
    const double sp = eigen_s > 0 ? eigen_s / g.seconds : 0;
    if (bits == 4) speedup4 = sp;
    fmt::print("  OPSC {}-bit fused dequant       {:>9}  {:6.3f}  {:8.2f}  {:8.2f}  {:.2f}x\n", bits,
               fmt::format("{:.1f} MiB", g.weight_bytes / 1048576.0), g.seconds * 1e3, g.gbps(), g.gflops(), sp);
  }
  fmt::print("\n");

  const int64_t Tg = opt.quick ? 16 : 128;
  fmt::print("GEMM {}x{}, T={} (prefill)         ms    GFLOP/s  vs Eigen fp32\n", n, n, Tg);
  double eg = 0;
  if (eigen_baseline_available()) {
    eg = eigen_gemm_seconds(n, n, Tg, opt.min_seconds);
    fmt::print("  Eigen fp32 (AVX2+FMA)       {:8.2f}  {:9.2f}  1.00x\n", eg * 1e3, 2.0 * n * n * Tg / eg / 1e9);
  }
  for (int bits : {8, 4}) {
    const GemvResult g = bench_gemm(bits, n, n, Tg, opt);
    fmt::print("  OPSC {}-bit                   {:8.2f}  {:9.2f}  {:.2f}x\n", bits, g.seconds * 1e3, g.gflops(),
               eg > 0 ? eg / g.seconds : 0.0);
  }
  if (opt.backend == Backend::cpu && eigen_baseline_available())
    fmt::print("  fp32 FMA peak of one core:  {:.1f} GFLOP/s\n", fma_peak_flops(opt.min_seconds) / 1e9);
  fmt::print("\n");

  const int64_t Tc = opt.quick ? 32 : 128;
  fmt::print("compression, LLM-like activations {}x{} (6 outlier channels 50-1000x, massive first token)\n", Tc, d);
  fmt::print("  relative MSE     target   TS+TAB-Q bits/elem (eps)   per-token uniform bits/elem   ratio\n");
  const std::vector<CompressionPoint> cps = bench_compression(Tc, d, {1e-2, 1e-3, 1e-4});
  bool comp_ok = false, half_ok = false;
  for (const CompressionPoint& c : cps) {
    fmt::print("  {:<15} {:7.0e}   {:7.3f} ({:6.2g}, mse {:.2g})   {:>7}{:<21}  {}\n", c.strict ? "bulk-relative" : "||dX||^2/||X||^2",
               c.target, c.tabq_bits, c.tabq_eps, c.tabq_mse, c.uniform_bits > 0 ? fmt::format("{:.3f}", c.uniform_bits) : "> 16",
               c.uniform_bits > 0 ? fmt::format(" (mse {:.2g})", c.uniform_mse) : "",
               c.uniform_bits > 0 && c.tabq_bits > 0 ? fmt::format("{:.2f}x", c.uniform_bits / c.tabq_bits) : "-");
    if (!c.strict && c.target == 1e-2) {
      comp_ok = c.tabq_bits > 0 && c.tabq_bits <= 5.5;
      half_ok = c.tabq_bits > 0 && (c.uniform_bits == 0 || c.tabq_bits * 2 <= c.uniform_bits);
    }
  }
  fmt::print("  (bulk-relative: squared error over the energy of all but the largest 0.1% of |x|; a stricter view,\n"
             "   since the outlier channels dominate ||X||^2)\n\n");

  fmt::print("targets (single core, this run)\n");
  fmt::print("  {} codec encode 128x4096 at >= 40% of copy bandwidth: {:.0f}%\n", pass(main_hot.encode_rate() >= 0.4 * bw.dram),
             100 * main_hot.encode_rate() / bw.dram);
  fmt::print("  {} codec decode 128x4096 at >= 40% of copy bandwidth: {:.0f}%\n", pass(main_hot.decode_rate() >= 0.4 * bw.dram),
             100 * main_hot.decode_rate() / bw.dram);
  if (speedup4 > 0)
    fmt::print("  {} 4-bit GEMV {}x{} >= 3x Eigen fp32 GEMV: {:.2f}x\n", pass(speedup4 >= 3), n, n, speedup4);
  fmt::print("  {} TS+TAB-Q <= 5.5 bits/elem at relative MSE <= 1e-2\n", pass(comp_ok));
  fmt::print("  {} TS+TAB-Q <= half the bits of per-token uniform at the same error\n", pass(half_ok));
}

// --- calibrate ---------------------------------------------------------------------------------------------

std::string sourced(const std::string& value, const std::string& source) {
  return fmt::format("{{ value = \"{}\", source = \"{}\" }}", value, source);
}
std::string sourced_num(double value, const std::string& source) {
  return fmt::format("{{ value = {:.4f}, source = \"{}\" }}", value, source);
}

void run_calibrate(const BenchOptions& opt, const std::string& out_arg, const std::string& command) {
  require_backend(opt.backend);
#if defined(SPLITSIM_KERNELS_CUDA)
  if (opt.backend == Backend::cuda) {
    run_gpu_calibrate(opt, out_arg, command);
    return;
  }
#endif
  const std::string host = this_host_name(), date = utc_now();
  const std::string src = fmt::format("measured: {}, {}, {}", host, date, command);
  const std::string out = calibration_file(out_arg, host);
  const int64_t n = opt.quick ? 1024 : 4096, d = 4096;
  std::string t;
  t += fmt::format("# Kernel calibration of {} ({} backend), written by `{}`.\n", host, backend_name(opt.backend), command);
  t += "# Rates are single-core unless `threads` says otherwise; efficiencies are relative to the copy bandwidth\n";
  t += "# (memory-bound work) or the measured fp32 FMA peak (compute-bound work) of this same run.\n";
  t += fmt::format("host = \"{}\"\ndate = \"{}\"\ncommand = \"{}\"\nbackend = \"{}\"\n", host, date, command,
                   backend_name(opt.backend));
  t += fmt::format("cpu_features = \"{}\"\nthreads = {}\n", cpu_features(), opt.threads);

  fmt::print("calibrating {} on {} ...\n", backend_name(opt.backend), host);
  const CopyBandwidth bw = measure_copy_bandwidth(128 * d * 4, opt);
  t += "\n[memory]\n";
  t += fmt::format("copy_bandwidth = {}  # memcpy of {} MiB\n", sourced(fmt::format("{:.3f}GB/s", bw.dram / 1e9), src), bw.dram_bytes >> 20);
  t += fmt::format("copy_bandwidth_in_cache = {}  # memcpy of {} MiB\n", sourced(fmt::format("{:.3f}GB/s", bw.in_cache / 1e9), src),
                   bw.cache_bytes >> 20);
  double peak = 0;
  if (eigen_baseline_available()) {
    peak = fma_peak_flops(opt.min_seconds);
    t += "\n[compute]\n";
    t += fmt::format("peak_fp32 = {}  # AVX2 FMA loop, one core\n", sourced(fmt::format("{:.2f}Gflops", peak / 1e9), src));
  }
  for (int bits : {2, 3, 4, 8}) {
    const GemvResult g = bench_gemv(bits, n, n, opt);
    t += fmt::format("\n[gemv.bits{}]  # {}x{} fused dequant-GEMV, group 128\n", bits, n, n);
    t += fmt::format("weight_throughput = {}\n", sourced(fmt::format("{:.3f}GB/s", g.gbps()), src));
    t += fmt::format("flops = {}\n", sourced(fmt::format("{:.3f}Gflops", g.gflops()), src));
    t += fmt::format("efficiency_memory = {}  # weight_throughput / copy_bandwidth\n", sourced_num(g.gbps() * 1e9 / bw.dram, src));
    fmt::print("  gemv {}-bit: {:.2f} GB/s\n", bits, g.gbps());
  }
  const int64_t Tg = opt.quick ? 16 : 128;
  for (int bits : {2, 3, 4, 8}) {
    const GemvResult g = bench_gemm(bits, n, n, Tg, opt);
    t += fmt::format("\n[gemm.bits{}]  # {}x{}, T = {}\n", bits, n, n, Tg);
    t += fmt::format("flops = {}\n", sourced(fmt::format("{:.3f}Gflops", g.gflops()), src));
    if (peak > 0) t += fmt::format("efficiency_compute = {}  # flops / peak_fp32\n", sourced_num(g.gflops() * 1e9 / peak, src));
    fmt::print("  gemm {}-bit: {:.2f} GFLOP/s\n", bits, g.gflops());
  }
  for (const char* codec : {"ts-tabq", "uniform", "fp16"})
    for (int64_t T : {int64_t{1}, int64_t{16}, int64_t{128}}) {
      const CodecRate c = bench_codec(codec, T, d, false, opt);
      t += fmt::format("\n[codec.{}.tokens_{}]  # {}x{} fp32 block; rates in fp32 bytes per second\n", codec, T, T, d);
      t += fmt::format("encode = {}\n", sourced(fmt::format("{:.3f}GB/s", c.encode_rate() / 1e9), src));
      t += fmt::format("decode = {}\n", sourced(fmt::format("{:.3f}GB/s", c.decode_rate() / 1e9), src));
      t += fmt::format("bits_per_element = {}\n", sourced_num(c.bits_per_element, src));
      fmt::print("  codec {} T={}: encode {:.2f} GB/s, decode {:.2f} GB/s\n", codec, T, c.encode_rate() / 1e9,
                 c.decode_rate() / 1e9);
    }
  std::filesystem::path p(out);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  write_file_atomic(out, t);
  fmt::print("wrote {}\n", out);
}

std::string command_line(const char* base, const std::string& backend, const std::string& out, bool quick, int threads) {
  std::string c = fmt::format("{} --backend {}", base, backend);
  if (threads != 1) c += fmt::format(" --threads {}", threads);
  if (quick) c += " --quick";
  if (!out.empty()) {
    // Only the last component travels into the record (no machine paths); "dir/" names "dir", not "".
    std::filesystem::path p = std::filesystem::path(out).lexically_normal();
    if (!p.has_filename()) p = p.parent_path();
    c += " --out " + p.filename().string();
  }
  return c;
}

}  // namespace

void add_kernels_commands(CliRoot& root) {
  struct Args {
    std::string backend = "cpu";
    std::string out;
    int threads = 1;
    bool quick = false;
    bool variants = false;
  };
  const auto options = [](const char* cmd, const Args& a) {
    BenchOptions o;
    o.backend = parse_backend(a.backend);
    if (a.threads < 1 || a.threads > 1024)
      throw_input(cmd, "--threads", "a thread count in [1, 1024]", std::to_string(a.threads));
    o.threads = a.threads;
    o.quick = a.quick;
    o.min_seconds = o.quick ? 0.05 : 0.3;
    return o;
  };
  auto bench_args = std::make_shared<Args>();
  CLI::App* b = root.bench.add_subcommand("kernels", "Kernel microbenchmarks: codec, quantized GEMV/GEMM, compression");
  b->add_option("--backend", bench_args->backend, "reference | cpu | cuda")->capture_default_str();
  b->add_option("--threads", bench_args->threads, "worker threads (the targets are single-core)")->capture_default_str();
  b->add_flag("--quick", bench_args->quick, "smaller sizes and shorter runs");
  b->add_flag("--variants", bench_args->variants, "cuda: also time every GEMV launch shape (tuning)");
  b->callback([bench_args, options] { run_bench(options("bench kernels", *bench_args), bench_args->variants); });

  auto cal = std::make_shared<Args>();
  CLI::App* c = root.app.add_subcommand("calibrate", "Measure this host's kernels and write hwprofiles/measured/<host>.toml");
  c->add_option("--backend", cal->backend, "cpu | cuda")->capture_default_str();
  c->add_option("--out", cal->out,
                 "output file, or a folder for <host>.toml (cuda: <device slug>.toml); default hwprofiles/measured/");
  c->add_option("--threads", cal->threads, "worker threads")->capture_default_str();
  c->add_flag("--quick", cal->quick, "smaller sizes and shorter runs");
  c->callback([cal, options] {
    const BenchOptions o = options("calibrate", *cal);
    if (o.backend == Backend::reference) throw_input("calibrate", "--backend", "cpu or cuda", "reference");
    run_calibrate(o, cal->out, command_line("splitsim calibrate", cal->backend, cal->out, cal->quick, cal->threads));
  });
}

}  // namespace splitsim
