// Which implementation runs a kernel. Every kernel in kernels/ has the three behind one plain C++ API:
//   reference — plain scalar loops, the definition the others are tested against;
//   cpu       — vectorized (AVX2/FMA/F16C/BMI2 chosen at run time, scalar fallback), threaded where it pays;
//   cuda      — CUDA kernels; throws std::runtime_error "no CUDA device" when the build has no CUDA or the
//               machine has no usable GPU (any CUDA error counts as "no GPU").
#pragma once
#include <string>
#include <string_view>

namespace splitsim {

enum class Backend { reference, cpu, cuda };

const char* backend_name(Backend b);
Backend parse_backend(std::string_view s);  // InputError naming the allowed words

// True when this build has the CUDA kernels and a device answers. Never throws.
bool cuda_device_available();
// One line describing the device ("NVIDIA A6000, sm_86, 48 GB") or why there is none.
std::string cuda_device_description();

// What the vectorized CPU path uses on this host ("avx2+fma+f16c+bmi2" or "scalar").
std::string cpu_features();

}  // namespace splitsim
