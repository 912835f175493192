// Internal to kernels/: host-side helpers of the CUDA launchers — error checks that name the failing call, a
// device buffer that frees itself (movable), and event timing of the kernels alone. Plain CUDA C++17 (CUDA 11.4 and later).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace splitsim::cuda_util {

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    (void)cudaGetLastError();  // clear a sticky launch error so the next call reports its own
    throw std::runtime_error(std::string("CUDA: ") + what + ": " + cudaGetErrorString(e));
  }
}

template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(int64_t n) : n_(n) {
    if (n_ > 0) check(cudaMalloc(reinterpret_cast<void**>(&p_), static_cast<size_t>(n_) * sizeof(T)), "cudaMalloc");
  }
  ~DeviceBuffer() {
    if (p_) (void)cudaFree(p_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr, o.n_ = 0; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      if (p_) (void)cudaFree(p_);
      p_ = o.p_, n_ = o.n_;
      o.p_ = nullptr, o.n_ = 0;
    }
    return *this;
  }
  T* get() const { return p_; }
  int64_t size() const { return n_; }
  void upload(const T* host, int64_t n) {
    if (n > 0) check(cudaMemcpy(p_, host, static_cast<size_t>(n) * sizeof(T), cudaMemcpyHostToDevice), "cudaMemcpy H2D");
  }
  void download(T* host, int64_t n) const {
    if (n > 0) check(cudaMemcpy(host, p_, static_cast<size_t>(n) * sizeof(T), cudaMemcpyDeviceToHost), "cudaMemcpy D2H");
  }

 private:
  T* p_ = nullptr;
  int64_t n_ = 0;
};

// Seconds between start() and stop() on the default stream: the kernels launched in between, nothing else.
class KernelTimer {
 public:
  KernelTimer() {
    check(cudaEventCreate(&a_), "cudaEventCreate");
    check(cudaEventCreate(&b_), "cudaEventCreate");
  }
  ~KernelTimer() {
    (void)cudaEventDestroy(a_);
    (void)cudaEventDestroy(b_);
  }
  KernelTimer(const KernelTimer&) = delete;
  KernelTimer& operator=(const KernelTimer&) = delete;
  void start() { check(cudaEventRecord(a_), "cudaEventRecord"); }
  double stop(const char* kernel) {
    check(cudaGetLastError(), kernel);  // launch configuration errors
    check(cudaEventRecord(b_), "cudaEventRecord");
    check(cudaEventSynchronize(b_), kernel);  // errors while the kernels ran
    float ms = 0;
    check(cudaEventElapsedTime(&ms, a_, b_), "cudaEventElapsedTime");
    return 1e-3 * static_cast<double>(ms);
  }

 private:
  cudaEvent_t a_{}, b_{};
};

}  // namespace splitsim::cuda_util
