// Kernel microbenchmarks: memory-copy bandwidth, quantized GEMV/GEMM, codec encode/decode and compression, all
// measured in one process so that rates and the copy bandwidth they are compared with come from the same run.
//
// Timing is the median of repeated calls (each call batched to at least ~1 ms) after one warm-up call. "Hot"
// codec runs reuse one block (it stays in cache, as a hidden state just computed would); "cold" runs rotate
// through blocks totalling more than the last-level cache.
#include "kernels/bench.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <stdexcept>

#include "core/scenario.hpp"
#include "kernels/activations.hpp"
#include "kernels/codec.hpp"
#include "kernels/opsc.hpp"

namespace splitsim {

double time_call(const std::function<void()>& f, double min_seconds) {
  using clock = std::chrono::steady_clock;
  f();  // warm-up: page faults, caches, thread-local buffers
  const auto t0 = clock::now();
  f();
  const double one = std::max(1e-9, std::chrono::duration<double>(clock::now() - t0).count());
  const int batch = static_cast<int>(std::clamp(1e-3 / one, 1.0, 1e6));
  std::vector<double> samples;
  const auto start = clock::now();
  while (samples.size() < 5 || std::chrono::duration<double>(clock::now() - start).count() < min_seconds) {
    const auto b0 = clock::now();
    for (int i = 0; i < batch; ++i) f();
    samples.push_back(std::chrono::duration<double>(clock::now() - b0).count() / batch);
  }
  std::nth_element(samples.begin(), samples.begin() + static_cast<long>(samples.size() / 2), samples.end());
  return samples[samples.size() / 2];
}

CopyBandwidth measure_copy_bandwidth(int64_t cache_bytes, const BenchOptions& opt) {
  CopyBandwidth bw;
  bw.dram_bytes = opt.quick ? (64ll << 20) : (256ll << 20);
  bw.cache_bytes = cache_bytes;
  std::vector<char> a(static_cast<size_t>(bw.dram_bytes), 1), b(static_cast<size_t>(bw.dram_bytes), 2);
  bw.dram = static_cast<double>(bw.dram_bytes) /
            time_call([&] { std::memcpy(b.data(), a.data(), a.size()); }, opt.min_seconds);
  bw.in_cache = static_cast<double>(cache_bytes) /
                time_call([&] { std::memcpy(b.data(), a.data(), static_cast<size_t>(cache_bytes)); }, opt.min_seconds);
  return bw;
}

std::string calibration_file(const std::string& out, const std::string& stem) {
  const std::string dir_or_file = out.empty() ? data_dir() + "/hwprofiles/measured/" : out;
  if (dir_or_file.back() == '/' || std::filesystem::is_directory(dir_or_file))
    return (std::filesystem::path(dir_or_file) / (stem + ".toml")).string();
  return dir_or_file;
}

namespace {

std::vector<float> random_weights(int64_t rows, int64_t cols, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> n(0.0f, 0.02f);
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (auto& v : w) v = n(rng);
  return w;
}

}  // namespace

GemvResult bench_gemv(int bits, int64_t rows, int64_t cols, const BenchOptions& opt) {
  const QuantizedMatrix q = quantize_matrix(random_weights(rows, cols, 1).data(), rows, cols, bits, 128);
  std::vector<float> x(static_cast<size_t>(cols), 0.5f), y(static_cast<size_t>(rows));
  GemvResult r{bits, rows, cols, 1, 0, static_cast<double>(q.bytes())};
  r.seconds = time_call([&] { gemv(q, x.data(), y.data(), opt.backend, opt.threads); }, opt.min_seconds);
  return r;
}

GemvResult bench_gemm(int bits, int64_t rows, int64_t cols, int64_t T, const BenchOptions& opt) {
  const QuantizedMatrix q = quantize_matrix(random_weights(rows, cols, 2).data(), rows, cols, bits, 128);
  std::vector<float> x(static_cast<size_t>(T * cols), 0.25f), y(static_cast<size_t>(T * rows));
  GemvResult r{bits, rows, cols, T, 0, static_cast<double>(q.bytes())};
  r.seconds = time_call([&] { gemm(q, x.data(), T, y.data(), opt.backend, opt.threads); }, opt.min_seconds);
  return r;
}

CodecRate bench_codec(const std::string& codec, int64_t T, int64_t d, bool cold, const BenchOptions& opt) {
  CodecParams p;
  p.codec = parse_wire_codec(codec);
  p.backend = opt.backend;
  p.threads = opt.threads;
  // Enough distinct blocks to exceed a 32 MiB last-level cache three times over when cold.
  const int64_t block_bytes = T * d * 4;
  const int64_t n_blocks = cold ? std::max<int64_t>(2, (96ll << 20) / block_bytes) : 1;
  std::vector<std::vector<float>> xs;
  std::vector<std::vector<uint8_t>> wires;
  for (int64_t b = 0; b < n_blocks; ++b) {
    ActivationSpec s;
    s.T = T;
    s.d = d;
    s.seed = static_cast<uint64_t>(b + 1);
    xs.push_back(llm_like_activations(s));
    wires.push_back(encode(xs.back().data(), T, d, p));
  }
  CodecRate r;
  r.codec = codec;
  r.T = T;
  r.d = d;
  r.cold = cold;
  r.bits_per_element = 8.0 * static_cast<double>(wires[0].size()) / static_cast<double>(T * d);
  std::vector<uint8_t> out;
  std::vector<float> y(static_cast<size_t>(T * d));
  int64_t i = 0, j = 0;
  r.encode_seconds = time_call([&] { encode_into(xs[static_cast<size_t>(i++ % n_blocks)].data(), T, d, p, out); },
                               opt.min_seconds);
  r.decode_seconds = time_call([&] { decode_into(wires[static_cast<size_t>(j++ % n_blocks)], y, opt.backend, opt.threads); },
                               opt.min_seconds);
  return r;
}

std::vector<CompressionPoint> bench_compression(int64_t T, int64_t d, const std::vector<double>& targets) {
  ActivationSpec s;
  s.T = T;
  s.d = d;
  const std::vector<float> x = llm_like_activations(s);
  // Bulk energy: all but the largest 0.1% of |x| (the outlier channels and the massive first token).
  std::vector<float> mag(x.size());
  for (size_t i = 0; i < x.size(); ++i) mag[i] = std::fabs(x[i]);
  std::vector<float> sorted = mag;
  const size_t cut = sorted.size() - sorted.size() / 1000 - 1;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<long>(cut), sorted.end());
  const float bulk_max = sorted[cut];
  double all_energy = 0, bulk_energy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    all_energy += static_cast<double>(x[i]) * x[i];
    if (mag[i] <= bulk_max) bulk_energy += static_cast<double>(x[i]) * x[i];
  }
  struct Run {
    double bits, mse_all, mse_bulk, eps;
  };
  auto run = [&](const CodecParams& p, double eps) {
    const CodecStats st = measure_codec(x.data(), T, d, p);
    const double sq_err = st.relative_mse * all_energy;
    return Run{st.bits_per_element, st.relative_mse, sq_err / bulk_energy, eps};
  };
  std::vector<Run> tabq, uniform;
  for (double eps = 1e-5; eps <= 3.0; eps *= std::sqrt(2.0)) {
    CodecParams p;
    p.codec = WireCodec::ts_tabq;
    p.ts_mode = TsMode::sigma;
    p.ts_threshold = 6.0;
    p.tabq_eps = eps;
    p.tabq_bits = {2, 3, 4, 5, 6, 7, 8};
    tabq.push_back(run(p, eps));
  }
  for (int b = 2; b <= 16; ++b) {
    CodecParams p;
    p.codec = WireCodec::uniform;
    p.uniform_bits = b;
    uniform.push_back(run(p, 0));
  }
  std::vector<CompressionPoint> out;
  for (bool strict : {false, true})
    for (double target : targets) {
      CompressionPoint cp;
      cp.target = target;
      cp.strict = strict;
      for (const Run& r : tabq) {
        const double e = strict ? r.mse_bulk : r.mse_all;
        if (e <= target && (cp.tabq_bits == 0 || r.bits < cp.tabq_bits)) {
          cp.tabq_bits = r.bits;
          cp.tabq_mse = e;
          cp.tabq_eps = r.eps;
        }
      }
      for (const Run& r : uniform) {
        const double e = strict ? r.mse_bulk : r.mse_all;
        if (e <= target) {
          cp.uniform_bits = r.bits;
          cp.uniform_mse = e;
          break;
        }
      }
      out.push_back(cp);
    }
  return out;
}

}  // namespace splitsim
