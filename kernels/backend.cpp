// Backend names and what the host offers: the vectorized CPU path's instruction sets, the CUDA device.
#include <cstdlib>
#include <string>

#include "core/error.hpp"
#include "kernels/backend.hpp"
#include "kernels/cuda_runtime.hpp"
#include "kernels/simd.hpp"

namespace splitsim {

const char* backend_name(Backend b) {
  switch (b) {
    case Backend::reference: return "reference";
    case Backend::cpu: return "cpu";
    case Backend::cuda: return "cuda";
  }
  return "?";
}

Backend parse_backend(std::string_view s) {
  for (Backend b : {Backend::reference, Backend::cpu, Backend::cuda})
    if (s == backend_name(b)) return b;
  throw_input("kernels", "backend", "one of reference, cpu, cuda", std::string(s));
}

bool simd_avx2_available() {
  static const bool ok = [] {
    const char* off = std::getenv("SPLITSIM_FORCE_SCALAR");
    if (off && *off && std::string(off) != "0") return false;
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c") &&
           __builtin_cpu_supports("bmi2");
  }();
  return ok;
}

bool simd_avx512_available() {
  static const bool ok = [] {
    const char* off = std::getenv("SPLITSIM_NO_AVX512");
    if (off && *off && std::string(off) != "0") return false;
    return simd_avx2_available() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl");
  }();
  return ok;
}

std::string cpu_features() {
  if (!simd_avx2_available()) return "scalar";
  return simd_avx512_available() ? "avx2+fma+f16c+bmi2 (+avx512 for 4-bit GEMV)" : "avx2+fma+f16c+bmi2";
}

bool cuda_device_available() { return cuda_detail::probe().available; }
std::string cuda_device_description() { return cuda_detail::probe().description; }

}  // namespace splitsim
