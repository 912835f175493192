// The device references of cuda_bench.hpp. Every timing runs warm (one untimed launch first), with CUDA events
// around the timed launches; medians of repetitions where a single call is timed.
#include <cublas_api.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernels/cuda_bench.hpp"
#include "kernels/cuda_util.cuh"

namespace splitsim::cuda_bench {

using cuda_util::check;
using cuda_util::DeviceBuffer;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

int attribute(cudaDeviceAttr a) {
  int dev = 0, v = 0;
  check(cudaGetDevice(&dev), "cudaGetDevice");
  check(cudaDeviceGetAttribute(&v, a, dev), "cudaDeviceGetAttribute");
  return v;
}

__global__ void empty_kernel() {}

__global__ void read_kernel(const uint4* __restrict__ p, int64_t n, unsigned* __restrict__ sink) {
  unsigned acc = 0;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const uint4 v = __ldcs(p + i);
    acc ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  if (acc == 0x9E3779B9u) *sink = acc;  // practically never taken, but the loads must happen
}

__global__ void fill_kernel(uint32_t* p, int64_t n, uint32_t seed) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    uint32_t h = static_cast<uint32_t>(i) * 2654435761u ^ seed;
    h ^= h >> 15;
    h *= 2246822519u;
    h ^= h >> 13;
    // Two fp16 values in [-1, 1): sign, exponent 14 or below, random mantissa.
    const uint32_t a = (h & 0x83FFu) | 0x3800u, b = ((h >> 16) & 0x83FFu) | 0x3400u;
    p[i] = a | (b << 16);
  }
}

constexpr int kFmaChains = 8;
constexpr int kFmaIters = 4096;

__global__ void fma32_kernel(float* out, float a, float b) {
  float v[kFmaChains];
#pragma unroll
  for (int k = 0; k < kFmaChains; ++k) v[k] = threadIdx.x + k;
  for (int i = 0; i < kFmaIters; ++i)
#pragma unroll
    for (int k = 0; k < kFmaChains; ++k) v[k] = fmaf(v[k], a, b);
  float s = 0;
#pragma unroll
  for (int k = 0; k < kFmaChains; ++k) s += v[k];
  if (s == 1.2345f) out[0] = s;
}

__global__ void fma16_kernel(float* out, float a, float b) {
  __half2 v[kFmaChains];
  const __half2 ha = __float2half2_rn(a), hb = __float2half2_rn(b);
#pragma unroll
  for (int k = 0; k < kFmaChains; ++k) v[k] = __float2half2_rn(static_cast<float>(threadIdx.x % 7 + k) * 0.01f);
  for (int i = 0; i < kFmaIters; ++i)
#pragma unroll
    for (int k = 0; k < kFmaChains; ++k) v[k] = __hfma2(v[k], ha, hb);
  float s = 0;
#pragma unroll
  for (int k = 0; k < kFmaChains; ++k) s += __low2float(v[k]) + __high2float(v[k]);
  if (s == 1.2345f) out[0] = s;
}

template <class F>
double event_seconds(F&& launch, int reps) {
  launch();
  check(cudaDeviceSynchronize(), "warm-up");
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    cuda_util::KernelTimer timer;
    timer.start();
    launch();
    t.push_back(timer.stop("timed launch"));
  }
  return median(t);
}

// ---- cuBLAS at run time ----------------------------------------------------------------------------------

using CreateFn = cublasStatus_t (*)(cublasHandle_t*);
using DestroyFn = cublasStatus_t (*)(cublasHandle_t);
using GemmExFn = cublasStatus_t (*)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void*,
                                    const void*, cudaDataType, int, const void*, cudaDataType, int, const void*, void*,
                                    cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t);

struct Cublas {
  void* lib = nullptr;
  CreateFn create = nullptr;
  DestroyFn destroy = nullptr;
  GemmExFn gemm = nullptr;
  std::string error;
};

const Cublas& cublas() {
  static const Cublas c = [] {
    Cublas k;
    const char* env = std::getenv("SPLITSIM_CUBLAS");
    const std::string name = env && *env ? env : "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);
    k.lib = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!k.lib) {
      const char* e = dlerror();
      k.error = "cannot load " + name + (e ? std::string(": ") + e : std::string());
      return k;
    }
    k.create = reinterpret_cast<CreateFn>(dlsym(k.lib, "cublasCreate_v2"));
    k.destroy = reinterpret_cast<DestroyFn>(dlsym(k.lib, "cublasDestroy_v2"));
    k.gemm = reinterpret_cast<GemmExFn>(dlsym(k.lib, "cublasGemmEx"));
    if (!k.create || !k.destroy || !k.gemm) k.error = name + " lacks cublasCreate_v2, cublasDestroy_v2 or cublasGemmEx";
    return k;
  }();
  return c;
}

}  // namespace

DeviceInfo device_info() {
  DeviceInfo d;
  int dev = 0;
  check(cudaGetDevice(&dev), "cudaGetDevice");
  cudaDeviceProp p{};
  check(cudaGetDeviceProperties(&p, dev), "cudaGetDeviceProperties");
  d.name = p.name;
  d.cc_major = p.major;
  d.cc_minor = p.minor;
  d.sm_count = p.multiProcessorCount;
  d.global_bytes = static_cast<int64_t>(p.totalGlobalMem);
  d.sm_clock_mhz = attribute(cudaDevAttrClockRate) / 1e3;
  d.mem_clock_mhz = attribute(cudaDevAttrMemoryClockRate) / 1e3;
  d.mem_bus_bits = attribute(cudaDevAttrGlobalMemoryBusWidth);
  d.l2_bytes = attribute(cudaDevAttrL2CacheSize);
  check(cudaDriverGetVersion(&d.driver_version), "cudaDriverGetVersion");
  check(cudaRuntimeGetVersion(&d.runtime_version), "cudaRuntimeGetVersion");
  return d;
}

double copy_bandwidth(int64_t bytes, int reps) {
  DeviceBuffer<uint8_t> a(bytes), b(bytes);
  check(cudaMemset(a.get(), 1, static_cast<size_t>(bytes)), "cudaMemset");
  const double s = event_seconds(
      [&] {
        check(cudaMemcpy(b.get(), a.get(), static_cast<size_t>(bytes), cudaMemcpyDeviceToDevice), "cudaMemcpy D2D");
      },
      reps);
  return 2.0 * static_cast<double>(bytes) / s;
}

double read_bandwidth(int64_t bytes, int reps) {
  const int64_t n = bytes / 16;
  DeviceBuffer<uint4> a(n);
  DeviceBuffer<unsigned> sink(1);
  const int64_t words = n * 4;
  fill_kernel<<<1024, 256>>>(reinterpret_cast<uint32_t*>(a.get()), words, 1u);
  const int blocks = 4 * attribute(cudaDevAttrMultiProcessorCount);
  const double s = event_seconds([&] { read_kernel<<<blocks, 1024>>>(a.get(), n, sink.get()); }, reps);
  return static_cast<double>(n * 16) / s;
}

double host_device_bandwidth(int64_t bytes, int reps, bool to_device) {
  void* host = nullptr;
  check(cudaMallocHost(&host, static_cast<size_t>(bytes)), "cudaMallocHost");
  struct Free {
    void* p;
    ~Free() { (void)cudaFreeHost(p); }
  } free_host{host};
  std::fill_n(static_cast<uint8_t*>(host), bytes, uint8_t{7});
  DeviceBuffer<uint8_t> dev(bytes);
  const double s = event_seconds(
      [&] {
        if (to_device)
          check(cudaMemcpy(dev.get(), host, static_cast<size_t>(bytes), cudaMemcpyHostToDevice), "cudaMemcpy H2D");
        else
          check(cudaMemcpy(host, dev.get(), static_cast<size_t>(bytes), cudaMemcpyDeviceToHost), "cudaMemcpy D2H");
      },
      reps);
  return static_cast<double>(bytes) / s;
}

double launch_queued_seconds(int n) {
  empty_kernel<<<1, 32>>>();
  check(cudaDeviceSynchronize(), "empty_kernel");
  cuda_util::KernelTimer timer;
  timer.start();
  for (int i = 0; i < n; ++i) empty_kernel<<<1, 32>>>();
  return timer.stop("empty_kernel") / n;
}

double launch_roundtrip_seconds(int n) {
  using clock = std::chrono::steady_clock;
  empty_kernel<<<1, 32>>>();
  check(cudaDeviceSynchronize(), "empty_kernel");
  std::vector<double> t;
  for (int i = 0; i < n; ++i) {
    const auto t0 = clock::now();
    empty_kernel<<<1, 32>>>();
    check(cudaStreamSynchronize(nullptr), "empty_kernel");
    t.push_back(std::chrono::duration<double>(clock::now() - t0).count());
  }
  return median(t);
}

double fma_peak_flops(bool fp16) {
  const int blocks = 8 * attribute(cudaDevAttrMultiProcessorCount), threads = 256;
  DeviceBuffer<float> out(1);
  const double s = event_seconds(
      [&] {
        if (fp16)
          fma16_kernel<<<blocks, threads>>>(out.get(), 0.999f, 0.001f);
        else
          fma32_kernel<<<blocks, threads>>>(out.get(), 0.999f, 0.001f);
      },
      5);
  const double flops_per_fma = fp16 ? 4.0 : 2.0;
  return static_cast<double>(blocks) * threads * kFmaIters * kFmaChains * flops_per_fma / s;
}

std::string cublas_status() {
  const Cublas& c = cublas();
  return c.error;
}

double cublas_fp16_seconds(int64_t rows, int64_t cols, int64_t T, int copies, int calls) {
  const Cublas& c = cublas();
  if (!c.error.empty()) throw std::runtime_error("cuBLAS: " + c.error);
  copies = std::max(1, copies);
  const int64_t wn = rows * cols;
  DeviceBuffer<__half> w(wn * copies), x(T * cols), y(T * rows);
  fill_kernel<<<1024, 256>>>(reinterpret_cast<uint32_t*>(w.get()), wn * copies / 2, 3u);
  fill_kernel<<<1024, 256>>>(reinterpret_cast<uint32_t*>(x.get()), T * cols / 2, 5u);
  check(cudaDeviceSynchronize(), "fill_kernel");
  cublasHandle_t h = nullptr;
  if (c.create(&h) != CUBLAS_STATUS_SUCCESS) throw std::runtime_error("cuBLAS: cublasCreate failed");
  struct Destroy {
    const Cublas& c;
    cublasHandle_t h;
    ~Destroy() { (void)c.destroy(h); }
  } destroy{c, h};
  const float alpha = 1.0f, beta = 0.0f;
  const auto run = [&](int i) {
    // Column-major view: Y^T (rows x T) = W (rows x cols, i.e. W^T col-major transposed) X^T (cols x T).
    const cublasStatus_t st = c.gemm(
        h, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(rows), static_cast<int>(T), static_cast<int>(cols), &alpha,
        w.get() + (i % copies) * wn, CUDA_R_16F, static_cast<int>(cols), x.get(), CUDA_R_16F, static_cast<int>(cols),
        &beta, y.get(), CUDA_R_16F, static_cast<int>(rows), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    if (st != CUBLAS_STATUS_SUCCESS)
      throw std::runtime_error("cuBLAS: cublasGemmEx failed (" + std::to_string(st) + ")");
  };
  for (int i = 0; i < copies; ++i) run(i);  // warm-up: heuristics, workspace
  check(cudaDeviceSynchronize(), "cublasGemmEx");
  cuda_util::KernelTimer timer;
  timer.start();
  for (int i = 0; i < calls; ++i) run(i);
  return timer.stop("cublasGemmEx") / calls;
}

}  // namespace splitsim::cuda_bench
