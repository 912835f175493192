// The CUDA runtime probe (cuda_runtime.hpp): is there a device this build's kernels can run on? Asked once per
// process. Any CUDA error — no driver, no device, a device whose architecture the build did not compile for —
// means "not available", with the reason in the description. Plain CUDA C++17: builds with CUDA 11.4 (Jetson
// Xavier NX: configure with -DCMAKE_CUDA_ARCHITECTURES=72) as well as with CUDA 12 and 13.
#include <cuda_runtime.h>

#include <cstdio>
#include <string>

#include "kernels/cuda_runtime.hpp"

namespace splitsim::cuda_detail {

namespace {

__global__ void probe_kernel(int* out) { *out = 42; }

Probe ask_runtime() {
  Probe p;
  const auto fail = [&p](const char* what, cudaError_t e) {
    (void)cudaGetLastError();
    p.available = false;
    p.description = std::string(what) + ": " + cudaGetErrorString(e);
    return p;
  };
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) return fail("cudaGetDeviceCount", e);
  if (n < 1) {
    p.description = "cudaGetDeviceCount: the driver reports no device";
    return p;
  }
  cudaDeviceProp prop{};
  e = cudaGetDeviceProperties(&prop, 0);
  if (e != cudaSuccess) return fail("cudaGetDeviceProperties", e);
  // A kernel from this build must run: a device older or newer than the compiled architectures fails here.
  int* d = nullptr;
  e = cudaMalloc(reinterpret_cast<void**>(&d), sizeof(int));
  if (e != cudaSuccess) return fail("cudaMalloc", e);
  probe_kernel<<<1, 1>>>(d);
  e = cudaGetLastError();
  int h = 0;
  if (e == cudaSuccess) e = cudaMemcpy(&h, d, sizeof(int), cudaMemcpyDeviceToHost);
  (void)cudaFree(d);
  if (e != cudaSuccess || h != 42) {
    char arch[64];
    std::snprintf(arch, sizeof arch, "sm_%d%d kernel launch", prop.major, prop.minor);
    return fail(arch, e == cudaSuccess ? cudaErrorUnknown : e);
  }
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s, sm_%d%d, %.1f GiB", prop.name, prop.major, prop.minor,
                static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0));
  p.available = true;
  p.description = buf;
  return p;
}

}  // namespace

const Probe& probe() {
  static const Probe p = ask_runtime();
  return p;
}

}  // namespace splitsim::cuda_detail
